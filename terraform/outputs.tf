output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "kubeconfig_command" {
  description = "Writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "vpc_id" {
  description = "VPC id (AWS Load Balancer Controller --set vpcId=...)."
  value       = module.vpc.vpc_id
}

output "vpc_cidr" {
  description = "VPC CIDR: the ipBlock of the NetworkPolicies in the k8s overlay."
  value       = module.vpc.vpc_cidr_block
}

output "msk_bootstrap_brokers" {
  description = "OMS_KAFKA value (ConfigMap oms-config): the SASL/SCRAM bootstrap brokers, port 9096."
  value       = module.msk.bootstrap_brokers
}

output "msk_auth_mode" {
  description = "MSK client authentication mode (scram; OMS_KAFKA_SECURITY=scram-sha-512)."
  value       = var.msk_auth_mode
}

output "msk_client_port" {
  description = "Broker port the pods connect to (9096 with SCRAM): the Kafka egress port of the NetworkPolicies."
  value       = module.msk.client_port
}

output "msk_scram_secret_name" {
  description = "Secrets Manager secret with the Kafka SCRAM user ({\"username\", \"password\"}): remoteRef.key of the ExternalSecret oms-kafka-credentials."
  value       = module.msk.scram_secret_name
}

output "msk_scram_secret_arn" {
  description = "ARN of that secret (associated with the MSK cluster; readable by the external-secrets IRSA role)."
  value       = module.msk.scram_secret_arn
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint."
  value       = module.redis.primary_endpoint
}

output "documentdb_endpoint" {
  description = "DocumentDB cluster endpoint."
  value       = module.documentdb.endpoint
}

output "efs_file_system_id" {
  description = "parameters.fileSystemId of the StorageClass oms-shards-efs (k8s overlays)."
  value       = module.efs.file_system_id
}

output "api_keys_secret_name" {
  description = "Secrets Manager secret holding keys.toml (ExternalSecret oms-api-keys remoteRef.key); put its value with `aws secretsmanager put-secret-value`."
  value       = aws_secretsmanager_secret.api_keys.name
}

output "app_secret_name" {
  description = "Secrets Manager secret read by External Secrets Operator (ExternalSecret remoteRef.key)."
  value       = aws_secretsmanager_secret.app.name
}

output "irsa_role_arns" {
  description = "IRSA role ARN per add-on service account (external-secrets, aws-load-balancer-controller); the OMS pods have none."
  value       = { for k, v in aws_iam_role.irsa : k => v.arn }
}

output "alb_security_group_id" {
  description = "alb.ingress.kubernetes.io/security-groups"
  value       = module.alb.security_group_id
}

output "alb_certificate_arn" {
  description = "alb.ingress.kubernetes.io/certificate-arn"
  value       = module.alb.certificate_arn
}

output "alb_access_logs_bucket" {
  description = "access_logs.s3.bucket in alb.ingress.kubernetes.io/load-balancer-attributes"
  value       = module.alb.access_logs_bucket
}

output "alb_waf_acl_arn" {
  description = "alb.ingress.kubernetes.io/wafv2-acl-arn (null without WAF)"
  value       = module.alb.waf_acl_arn
}

output "frontend_bucket" {
  description = "S3 bucket for frontend/dist (null without the CDN)."
  value       = var.enable_frontend_cdn ? module.frontend[0].bucket : null
}

output "frontend_distribution_id" {
  description = "CloudFront distribution id for invalidations (null without the CDN)."
  value       = var.enable_frontend_cdn ? module.frontend[0].distribution_id : null
}

output "frontend_distribution_domain_name" {
  description = "Point frontend_domain_name at this CloudFront domain (null without the CDN)."
  value       = var.enable_frontend_cdn ? module.frontend[0].distribution_domain_name : null
}

output "ecr_repository_url" {
  description = "Push the oms image here; the overlays' images[].newName."
  value       = aws_ecr_repository.oms.repository_url
}
