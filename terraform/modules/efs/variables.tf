variable "name" {
  description = "Name prefix, e.g. oms-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, one per AZ: a mount target in each."
  type        = list(string)
}

variable "client_security_group_id" {
  description = "The only security group allowed to reach NFS (2049): the security group of the EKS nodes, which mount the volumes."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the file system at rest (AWS Backup encrypts its recovery points with the backup vault's key)."
  type        = string
}

variable "throughput_mode" {
  description = "elastic (pay per GB transferred, follows the load), provisioned (fixed MiB/s, set provisioned_throughput_mibps) or bursting (baseline tied to the stored size)."
  type        = string
  default     = "elastic"

  validation {
    condition     = contains(["elastic", "provisioned", "bursting"], var.throughput_mode)
    error_message = "throughput_mode must be elastic, provisioned or bursting."
  }
}

variable "provisioned_throughput_mibps" {
  description = "Throughput bought with throughput_mode = \"provisioned\" (MiB/s); ignored otherwise."
  type        = number
  default     = 0
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
