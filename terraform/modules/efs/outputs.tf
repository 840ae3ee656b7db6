output "file_system_id" {
  description = "EFS file system id: fileSystemId of the StorageClass oms-shards-efs."
  value       = aws_efs_file_system.this.id
}

output "file_system_arn" {
  description = "EFS file system ARN."
  value       = aws_efs_file_system.this.arn
}

output "mount_target_ids" {
  description = "Mount target per private subnet."
  value       = aws_efs_mount_target.this[*].id
}

output "security_group_id" {
  description = "Security group of the mount targets."
  value       = aws_security_group.efs.id
}
