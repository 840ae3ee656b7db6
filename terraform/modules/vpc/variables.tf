variable "name" {
  description = "Name prefix, e.g. oms-prod."
  type        = string
}

variable "cidr_block" {
  description = "VPC CIDR. A /16 leaves room for /20 private subnets: the VPC CNI gives every pod a VPC IP."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones (2 or 3). MSK needs its broker count to be a multiple of this."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "az_suffixes" {
  description = "Zone letters to use, in order; the first az_count are taken (us-east-1 + a = us-east-1a)."
  type        = list(string)
  default     = ["a", "b", "c"]
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, but egress fails with that AZ) instead of one per AZ."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints (private DNS). ECR api/dkr keep image pulls off the NAT; sts lets IRSA pods get credentials without internet egress."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "sts"]
}

variable "cluster_name" {
  description = "EKS cluster name, for the subnet tags the AWS Load Balancer Controller discovers subnets by."
  type        = string
}

variable "flow_log_kms_key_arn" {
  description = "KMS key for the flow log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the flow log group."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
