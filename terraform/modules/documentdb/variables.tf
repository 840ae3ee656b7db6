variable "name" {
  description = "Cluster identifier prefix, e.g. oms-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the instances."
  type        = list(string)
}

variable "client_security_group_id" {
  description = "The only security group allowed to connect (the EKS cluster security group)."
  type        = string
}

variable "engine_version" {
  description = "DocumentDB engine version (MongoDB 5.0 API compatible)."
  type        = string
  default     = "5.0.0"
}

variable "instance_class" {
  description = "Instance class of every instance."
  type        = string
  default     = "db.r6g.large"
}

variable "instance_count" {
  description = "Instances: one writer plus readers. 2+ for failover in prod."
  type        = number
  default     = 2
}

variable "master_username" {
  description = "Master user name."
  type        = string
  default     = "omsadmin"
}

variable "backup_retention_days" {
  description = "Automated backup retention (point-in-time restore window)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster (set false and apply before terraform destroy)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key for storage, snapshots and backups."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key for the master credentials secret."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the audit and profiler log groups."
  type        = string
}

variable "log_retention_days" {
  description = "Audit/profiler log retention."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
