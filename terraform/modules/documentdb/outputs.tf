output "endpoint" {
  description = "Cluster (writer) endpoint."
  value       = aws_docdb_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint."
  value       = aws_docdb_cluster.this.reader_endpoint
}

output "port" {
  description = "Port."
  value       = aws_docdb_cluster.this.port
}

output "master_secret_arn" {
  description = "Secrets Manager ARN of the master credentials."
  value       = aws_secretsmanager_secret.master.arn
}

output "master_username" {
  description = "Master user name."
  value       = var.master_username
}

output "master_password" {
  description = "Master password (sensitive; used to compose the application secret)."
  value       = jsondecode(aws_secretsmanager_secret_version.master.secret_string)["password"]
  sensitive   = true
}

output "security_group_id" {
  description = "DocumentDB security group."
  value       = aws_security_group.docdb.id
}
