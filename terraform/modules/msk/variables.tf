variable "name" {
  description = "Cluster name, e.g. oms-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, one per AZ; brokers are spread evenly over them."
  type        = list(string)
}

variable "client_security_group_id" {
  description = "The only security group allowed to connect (the EKS cluster security group)."
  type        = string
}

variable "kafka_version" {
  description = "MSK Kafka version. An .x version receives patch upgrades from AWS automatically."
  type        = string
  default     = "3.8.x"
}

variable "broker_count" {
  description = "Number of brokers; a multiple of the number of subnets."
  type        = number
  default     = 3
}

variable "instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "ebs_volume_size_gib" {
  description = "Storage per broker."
  type        = number
  default     = 100
}

variable "auth_mode" {
  description = "Client authentication: scram (SASL/SCRAM-SHA-512 on 9096, user and password in Secrets Manager) or iam (SASL/IAM on 9098, credentials from IRSA; needs a client that signs MSK IAM tokens, which the oms binary does not)."
  type        = string
  default     = "scram"

  validation {
    condition     = contains(["iam", "scram"], var.auth_mode)
    error_message = "auth_mode must be iam or scram."
  }
}

variable "kms_key_arn" {
  description = "KMS key for broker storage."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the broker log group."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "Customer-managed KMS key for the SCRAM secret (MSK refuses secrets under the AWS-managed key)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be the ARN of a customer-managed KMS key (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "log_retention_days" {
  description = "Broker log retention."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
