# --- Identity and placement ----------------------------------------------------------------

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Environment name: dev or prod. Part of every resource name."
  type        = string
  default     = "prod"

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "oms"
}

variable "tags" {
  description = "Extra tags on every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group (flow logs, EKS, MSK, Redis, DocumentDB, WAF)."
  type        = number
  default     = 365
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a deleted KMS key is gone."
  type        = number
  default     = 30
}

# --- Network -------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "VPC CIDR; also the NetworkPolicy ipBlock in the k8s overlays."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones (2 or 3)."
  type        = number
  default     = 3
}

variable "az_suffixes" {
  description = "Availability zone letters, first az_count used (pinned so the zone set never shifts)."
  type        = list(string)
  default     = ["a", "b", "c"]
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per AZ (dev: saves ~$65/month per AZ, loses egress if that AZ fails)."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "Interface VPC endpoints (ECR pulls and STS for IRSA stay inside the VPC)."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "sts"]
}

# --- EKS -----------------------------------------------------------------------------------

variable "kubernetes_version" {
  description = "EKS Kubernetes version (k8s manifests are validated against the same minor version)."
  type        = string
  default     = "1.35"
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API publicly, limited to public_access_cidrs."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "Operator CIDRs for the public API endpoint (only with endpoint_public_access)."
  type        = list(string)
  default     = []
}

variable "admin_principal_arns" {
  description = "Extra IAM principals with cluster-admin access (CI role, SSO admin role)."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "Managed node group instance types."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "node_capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"
}

variable "node_min_size" {
  description = "Minimum nodes."
  type        = number
  default     = 3
}

variable "node_desired_size" {
  description = "Desired nodes at creation."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum nodes."
  type        = number
  default     = 6
}

# --- MSK -----------------------------------------------------------------------------------

variable "msk_kafka_version" {
  description = "MSK Kafka version."
  type        = string
  default     = "3.8.x"
}

variable "msk_broker_count" {
  description = "Brokers (multiple of az_count)."
  type        = number
  default     = 3
}

variable "msk_instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "msk_ebs_volume_size_gib" {
  description = "Storage per broker."
  type        = number
  default     = 100
}

variable "msk_auth_mode" {
  description = <<-EOT
    MSK client authentication. scram (default): TLS + SASL/SCRAM-SHA-512 on port 9096, the
    user and password in the Secrets Manager secret AmazonMSK_<name>-<env>_oms (KMS key
    `secrets`), which External Secrets Operator copies into the pods
    (OMS_KAFKA_SECURITY scram-sha-512, OMS_KAFKA_SASL_USERNAME and _PASSWORD). iam (TLS +
    SASL/IAM on 9098) is kept in modules/msk but refused here: the oms binary cannot sign
    MSK IAM (OAUTHBEARER, AWS SigV4) tokens, so no pod could connect. Lifting this needs
    that support in the binary, IRSA roles with kafka-cluster:* permissions per OMS role
    (removed with the switch to SCRAM) and port 9098 in the NetworkPolicies
    (docs/deployment.md, "Open points").
  EOT
  type        = string
  default     = "scram"

  validation {
    condition     = contains(["scram", "iam"], var.msk_auth_mode)
    error_message = "msk_auth_mode must be \"scram\" (\"iam\" exists in modules/msk but the oms binary does not support it)."
  }

  validation {
    condition     = var.msk_auth_mode != "iam"
    error_message = "msk_auth_mode = \"iam\" is refused: the oms binary cannot sign MSK IAM (OAUTHBEARER / AWS SigV4) tokens, so no OMS pod could connect to the brokers. Use \"scram\" (TLS + SASL/SCRAM on port 9096); see docs/deployment.md, \"Open points with the oms binary\"."
  }
}

# --- ElastiCache ---------------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_num_cache_clusters" {
  description = "Redis primary + replicas."
  type        = number
  default     = 2
}

variable "redis_multi_az" {
  description = "Multi-AZ with automatic failover."
  type        = bool
  default     = true
}

# --- DocumentDB ----------------------------------------------------------------------------

variable "docdb_instance_class" {
  description = "DocumentDB instance class."
  type        = string
  default     = "db.r6g.large"
}

variable "docdb_instance_count" {
  description = "DocumentDB instances (writer + readers)."
  type        = number
  default     = 2
}

variable "docdb_backup_retention_days" {
  description = "DocumentDB backup retention."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Deletion protection on DocumentDB (set false and apply before destroying)."
  type        = bool
  default     = true
}

# --- EFS (engine shard journals) ---------------------------------------------------------

variable "efs_throughput_mode" {
  description = "EFS throughput mode of the journal file system: elastic (billed per GB, follows the load), provisioned (fixed MiB/s) or bursting."
  type        = string
  default     = "elastic"
}

variable "efs_provisioned_throughput_mibps" {
  description = "MiB/s bought with efs_throughput_mode = \"provisioned\"; ignored otherwise."
  type        = number
  default     = 0
}

# --- Edge ----------------------------------------------------------------------------------

variable "domain_name" {
  description = "Host name of the OMS API and dashboard on the ALB, e.g. oms.example.com."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone of domain_name and frontend_domain_name, for ACM DNS validation. Empty if certificates are provided."
  type        = string
  default     = ""
}

variable "certificate_arn" {
  description = "Existing regional ACM certificate for domain_name; empty to issue one."
  type        = string
  default     = ""
}

variable "alb_allowed_cidrs" {
  description = "Client CIDRs allowed to reach the ALB."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "enable_waf" {
  description = "WAFv2 web ACL on the ALB."
  type        = bool
  default     = true
}

variable "enable_frontend_cdn" {
  description = "Serve the dashboard from S3 through CloudFront (in addition to the ingress pods)."
  type        = bool
  default     = true
}

variable "frontend_domain_name" {
  description = "Host name of the dashboard on CloudFront, e.g. app.example.com (must differ from domain_name)."
  type        = string
  default     = ""
}

variable "frontend_certificate_arn" {
  description = "Existing us-east-1 ACM certificate for frontend_domain_name; empty to issue one."
  type        = string
  default     = ""
}
