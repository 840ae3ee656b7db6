output "cluster_arn" {
  description = "MSK cluster ARN."
  value       = aws_msk_cluster.this.arn
}

output "cluster_name" {
  description = "MSK cluster name."
  value       = aws_msk_cluster.this.cluster_name
}

output "bootstrap_brokers" {
  description = "Bootstrap broker list for the chosen auth mode, port 9096 with SCRAM (the value of OMS_KAFKA)."
  value       = var.auth_mode == "iam" ? aws_msk_cluster.this.bootstrap_brokers_sasl_iam : aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "client_port" {
  description = "Broker port clients use (9098 IAM, 9096 SCRAM)."
  value       = local.client_port
}

output "topic_arn_prefix" {
  description = "Prefix of topic ARNs for IAM policies: <prefix>/<topic>."
  value       = replace(aws_msk_cluster.this.arn, ":cluster/", ":topic/")
}

output "group_arn_prefix" {
  description = "Prefix of consumer-group ARNs for IAM policies: <prefix>/<group>."
  value       = replace(aws_msk_cluster.this.arn, ":cluster/", ":group/")
}

output "scram_secret_arn" {
  description = "Secrets Manager ARN of the SCRAM credentials (null with IAM auth)."
  value       = var.auth_mode == "scram" ? aws_secretsmanager_secret.scram[0].arn : null
}

output "scram_secret_name" {
  description = "Secrets Manager name of the SCRAM credentials, AmazonMSK_<name>_oms (null with IAM auth)."
  value       = var.auth_mode == "scram" ? aws_secretsmanager_secret.scram[0].name : null
}

output "security_group_id" {
  description = "Broker security group."
  value       = aws_security_group.msk.id
}
