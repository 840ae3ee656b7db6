variable "name" {
  description = "Name prefix, e.g. oms-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "backend_security_group_id" {
  description = "Security group of the targets (EKS cluster security group); gets an ingress rule for the OMS HTTP port from the ALB."
  type        = string
}

variable "backend_port" {
  description = "Container port the ALB forwards to (oms --listen)."
  type        = number
  default     = 8080
}

variable "allowed_cidrs" {
  description = "Client CIDRs allowed to reach the ALB on 80/443. 0.0.0.0/0 for a public trading API; narrow it for a private deployment."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "domain_name" {
  description = "Public host name of the OMS (e.g. oms.example.com). Used for the ACM certificate when certificate_arn is empty."
  type        = string
  default     = ""
}

variable "route53_zone_id" {
  description = "Hosted zone for DNS validation of the certificate (when terraform creates it)."
  type        = string
  default     = ""
}

variable "certificate_arn" {
  description = "Existing ACM certificate ARN for the HTTPS listener; empty to issue one for domain_name."
  type        = string
  default     = ""
}

variable "enable_waf" {
  description = "Create a WAFv2 web ACL (managed rule groups + per-IP rate limit) for the ALB."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5min" {
  description = "Requests per client IP per 5 minutes before WAF blocks (the OMS also rate-limits per API key)."
  type        = number
  default     = 20000
}

variable "access_log_retention_days" {
  description = "Days to keep ALB access logs."
  type        = number
  default     = 90
}

variable "logs_kms_key_arn" {
  description = "KMS key for the WAF log group."
  type        = string
}

variable "log_retention_days" {
  description = "WAF log retention."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
