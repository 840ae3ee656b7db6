output "security_group_id" {
  description = "ALB security group (alb.ingress.kubernetes.io/security-groups)."
  value       = aws_security_group.alb.id
}

output "certificate_arn" {
  description = "ACM certificate for the HTTPS listener (alb.ingress.kubernetes.io/certificate-arn)."
  value       = local.create_certificate ? aws_acm_certificate.this[0].arn : var.certificate_arn
}

output "access_logs_bucket" {
  description = "Bucket for ALB access logs (access_logs.s3.bucket load-balancer attribute, prefix alb)."
  value       = aws_s3_bucket.access_logs.bucket
}

output "waf_acl_arn" {
  description = "WAFv2 web ACL ARN (alb.ingress.kubernetes.io/wafv2-acl-arn), null when disabled."
  value       = var.enable_waf ? aws_wafv2_web_acl.this[0].arn : null
}
