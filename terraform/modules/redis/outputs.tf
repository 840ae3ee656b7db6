output "primary_endpoint" {
  description = "Primary endpoint address (TLS, port 6379)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "auth_secret_arn" {
  description = "Secrets Manager ARN holding {\"auth_token\": ...}."
  value       = aws_secretsmanager_secret.auth.arn
}

output "auth_token" {
  description = "AUTH token (sensitive; used to compose the application secret)."
  value       = jsondecode(aws_secretsmanager_secret_version.auth.secret_string)["auth_token"]
  sensitive   = true
}

output "security_group_id" {
  description = "Redis security group."
  value       = aws_security_group.redis.id
}
