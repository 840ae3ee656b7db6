variable "name" {
  description = "Replication group id prefix, e.g. oms-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the cache nodes."
  type        = list(string)
}

variable "client_security_group_id" {
  description = "The only security group allowed to connect (the EKS cluster security group)."
  type        = string
}

variable "engine_version" {
  description = "Redis OSS engine version."
  type        = string
  default     = "7.1"
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "num_cache_clusters" {
  description = "Primary plus replicas. At least 2 for automatic failover and Multi-AZ."
  type        = number
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6
    error_message = "num_cache_clusters must be between 1 and 6."
  }
}

variable "multi_az" {
  description = "Place replicas in other AZs and fail over automatically (needs num_cache_clusters >= 2). Off only for a single-node dev cache."
  type        = bool
  default     = true
}

variable "snapshot_retention_days" {
  description = "Daily snapshots kept. Redis holds idempotency keys and caches only (the engine journal and DocumentDB are the system of record), so a short retention is enough."
  type        = number
  default     = 7
}

variable "kms_key_arn" {
  description = "KMS key for data at rest and snapshots."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key for the auth-token secret."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the slow-log group."
  type        = string
}

variable "log_retention_days" {
  description = "Slow-log retention."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
