variable "name" {
  description = "Cluster name, e.g. oms-prod."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes minor version. Keep it inside EKS standard support: extended support costs six times as much per cluster-hour."
  type        = string
  default     = "1.35"
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the control-plane ENIs and the nodes."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API endpoint publicly (restricted to public_access_cidrs). Off by default: reach the API from inside the VPC (VPN, bastion, CI runner)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint when endpoint_public_access is true. Never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "public_access_cidrs must not contain 0.0.0.0/0; list operator /32s instead."
  }
}

variable "secrets_kms_key_arn" {
  description = "KMS key for envelope encryption of Kubernetes Secrets."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the control-plane log group."
  type        = string
}

variable "log_retention_days" {
  description = "Control-plane log retention."
  type        = number
  default     = 365
}

variable "node_instance_types" {
  description = "Instance types for the managed node group. Engines pin threads to cores: prefer non-burstable types (m6i/m7i, c6i/c7i)."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "node_capacity_type" {
  description = "ON_DEMAND or SPOT. Spot is for dev only: an interruption moves engine partitions and triggers journal replay."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Minimum nodes."
  type        = number
  default     = 3
}

variable "node_desired_size" {
  description = "Initial desired nodes (later managed by the cluster autoscaler or Karpenter if installed)."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum nodes."
  type        = number
  default     = 6
}

variable "node_disk_size_gib" {
  description = "Root volume of each node (images and emptyDirs; the engine journals live on EFS)."
  type        = number
  default     = 50
}

variable "admin_principal_arns" {
  description = "IAM role/user ARNs given cluster-admin through EKS access entries (e.g. a CI role or an SSO admin role). The identity that runs terraform apply is admin already."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
