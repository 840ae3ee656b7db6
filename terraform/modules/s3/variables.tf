variable "name" {
  description = "Name prefix, e.g. oms-prod."
  type        = string
}

variable "domain_name" {
  description = "Host name viewers use for the dashboard (e.g. app.example.com). Must differ from the ALB host name, which is the API origin below."
  type        = string

  validation {
    condition     = length(var.domain_name) > 0
    error_message = "Set frontend_domain_name (or enable_frontend_cdn = false)."
  }
}

variable "certificate_arn" {
  description = "ACM certificate in us-east-1 covering domain_name."
  type        = string
}

variable "api_origin_domain" {
  description = "Host name of the ALB (its certificate's name). When set, /api/* and /ws/* are proxied to it, so the dashboard calls its own origin (no CORS). Empty to serve static files only."
  type        = string
  default     = ""
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "kms_key_arn" {
  description = "KMS key for the frontend bucket (its key policy allows CloudFront of this account to decrypt)."
  type        = string
}

variable "log_retention_days" {
  description = "Days to keep CloudFront and S3 access logs."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "waf_log_retention_days" {
  description = "Retention of the CloudFront WAF log group."
  type        = number
  default     = 365
}
