variable "name" {
  description = "Name prefix for key aliases, e.g. oms-prod."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion completes (7-30). Long in prod: a deleted key makes every snapshot encrypted with it unreadable."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every key."
  type        = map(string)
  default     = {}
}
