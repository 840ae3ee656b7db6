# Crypto OMS on AWS: VPC, EKS, MSK, ElastiCache, DocumentDB, EFS, ALB support, KMS, S3/CloudFront.
# Walkthrough: docs/deployment.md. Every data store admits only the EKS cluster security
# group (carried by the managed nodes and, with the VPC CNI, by every pod) on its own port.

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# CloudFront certificates and CLOUDFRONT-scoped WAF ACLs must be created in us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  name = "${var.name_prefix}-${var.environment}"

  tags = merge(var.tags, {
    Project     = "crypto-oms"
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}

module "kms" {
  source = "./modules/kms"

  name                    = local.name
  deletion_window_in_days = var.kms_deletion_window_days
}

module "vpc" {
  source = "./modules/vpc"

  name                 = local.name
  cidr_block           = var.vpc_cidr
  az_count             = var.az_count
  az_suffixes          = var.az_suffixes
  single_nat_gateway   = var.single_nat_gateway
  interface_endpoints  = var.interface_endpoints
  cluster_name         = local.name
  flow_log_kms_key_arn = module.kms.key_arns["logs"]
  log_retention_days   = var.log_retention_days
}

module "eks" {
  source = "./modules/eks"

  name                   = local.name
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.vpc.vpc_id
  private_subnet_ids     = module.vpc.private_subnet_ids
  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs
  admin_principal_arns   = var.admin_principal_arns
  secrets_kms_key_arn    = module.kms.key_arns["eks"]
  logs_kms_key_arn       = module.kms.key_arns["logs"]
  log_retention_days     = var.log_retention_days
  node_instance_types    = var.node_instance_types
  node_capacity_type     = var.node_capacity_type
  node_min_size          = var.node_min_size
  node_desired_size      = var.node_desired_size
  node_max_size          = var.node_max_size
}

module "msk" {
  source = "./modules/msk"

  name                     = local.name
  vpc_id                   = module.vpc.vpc_id
  subnet_ids               = module.vpc.private_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  kafka_version            = var.msk_kafka_version
  broker_count             = var.msk_broker_count
  instance_type            = var.msk_instance_type
  ebs_volume_size_gib      = var.msk_ebs_volume_size_gib
  auth_mode                = var.msk_auth_mode
  kms_key_arn              = module.kms.key_arns["msk"]
  logs_kms_key_arn         = module.kms.key_arns["logs"]
  secrets_kms_key_arn      = module.kms.key_arns["secrets"]
  log_retention_days       = var.log_retention_days
}

module "redis" {
  source = "./modules/redis"

  name                     = local.name
  vpc_id                   = module.vpc.vpc_id
  subnet_ids               = module.vpc.private_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  node_type                = var.redis_node_type
  num_cache_clusters       = var.redis_num_cache_clusters
  multi_az                 = var.redis_multi_az
  kms_key_arn              = module.kms.key_arns["elasticache"]
  secrets_kms_key_arn      = module.kms.key_arns["secrets"]
  logs_kms_key_arn         = module.kms.key_arns["logs"]
  log_retention_days       = var.log_retention_days
}

module "documentdb" {
  source = "./modules/documentdb"

  name                     = local.name
  vpc_id                   = module.vpc.vpc_id
  subnet_ids               = module.vpc.private_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  instance_class           = var.docdb_instance_class
  instance_count           = var.docdb_instance_count
  backup_retention_days    = var.docdb_backup_retention_days
  deletion_protection      = var.deletion_protection
  kms_key_arn              = module.kms.key_arns["documentdb"]
  secrets_kms_key_arn      = module.kms.key_arns["secrets"]
  logs_kms_key_arn         = module.kms.key_arns["logs"]
  log_retention_days       = var.log_retention_days
}

# The engine shard journals (k8s/base/engine-shards-pvc.yaml): shared by every engine pod
# so that failover can move a partition to any of them.
module "efs" {
  source = "./modules/efs"

  name                         = local.name
  vpc_id                       = module.vpc.vpc_id
  subnet_ids                   = module.vpc.private_subnet_ids
  client_security_group_id     = module.eks.node_security_group_id
  kms_key_arn                  = module.kms.key_arns["efs"]
  throughput_mode              = var.efs_throughput_mode
  provisioned_throughput_mibps = var.efs_provisioned_throughput_mibps
}

module "alb" {
  source = "./modules/alb"

  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  backend_security_group_id = module.eks.cluster_security_group_id
  backend_port              = 8080
  allowed_cidrs             = var.alb_allowed_cidrs
  domain_name               = var.domain_name
  route53_zone_id           = var.route53_zone_id
  certificate_arn           = var.certificate_arn
  enable_waf                = var.enable_waf
  logs_kms_key_arn          = module.kms.key_arns["logs"]
  log_retention_days        = var.log_retention_days
}

# --- Dashboard CDN -------------------------------------------------------------------------

locals {
  create_frontend_certificate = var.enable_frontend_cdn && var.frontend_certificate_arn == ""
  frontend_validation_options = local.create_frontend_certificate ? {
    for dvo in aws_acm_certificate.frontend[0].domain_validation_options : dvo.domain_name => dvo
  } : {}
}

resource "aws_acm_certificate" "frontend" {
  count    = local.create_frontend_certificate ? 1 : 0
  provider = aws.us_east_1

  domain_name       = var.frontend_domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

# Keyed by the configured host name, known at plan time (see modules/alb for the same).
resource "aws_route53_record" "frontend_validation" {
  for_each = local.create_frontend_certificate && var.route53_zone_id != "" ? toset([var.frontend_domain_name]) : toset([])

  zone_id         = var.route53_zone_id
  name            = local.frontend_validation_options[each.key].resource_record_name
  type            = local.frontend_validation_options[each.key].resource_record_type
  records         = [local.frontend_validation_options[each.key].resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "frontend" {
  count    = local.create_frontend_certificate && var.route53_zone_id != "" ? 1 : 0
  provider = aws.us_east_1

  certificate_arn         = aws_acm_certificate.frontend[0].arn
  validation_record_fqdns = [for r in aws_route53_record.frontend_validation : r.fqdn]
}

module "frontend" {
  source = "./modules/s3"
  count  = var.enable_frontend_cdn ? 1 : 0

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name        = local.name
  domain_name = var.frontend_domain_name
  # Wait for DNS validation so CloudFront is never given a pending certificate.
  certificate_arn = local.create_frontend_certificate ? (
    var.route53_zone_id != "" ? aws_acm_certificate_validation.frontend[0].certificate_arn : aws_acm_certificate.frontend[0].arn
  ) : var.frontend_certificate_arn
  api_origin_domain = var.domain_name
  kms_key_arn       = module.kms.key_arns["s3"]
}
