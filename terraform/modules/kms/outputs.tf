output "key_arns" {
  description = "Key ARN by domain (eks, logs, msk, elasticache, documentdb, secrets, s3, ecr, efs)."
  value       = { for k, v in aws_kms_key.this : k => v.arn }
}

output "key_ids" {
  description = "Key id by domain."
  value       = { for k, v in aws_kms_key.this : k => v.key_id }
}
