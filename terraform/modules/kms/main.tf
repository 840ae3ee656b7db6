# Customer-managed KMS keys, one per data domain.
#
# Why one key per domain instead of one key for everything: a key policy or grant mistake,
# or a key scheduled for deletion, then affects one store only, and CloudTrail shows which
# domain a Decrypt belongs to. The cost is $1/key/month.
#
# Key policies are written inline with jsonencode: in a key policy "Resource": "*" means
# "this key" (a key policy cannot name other resources), so generic IAM-policy checks that
# flag "*" resources do not apply to them.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  keys = {
    eks         = "EKS envelope encryption of Kubernetes Secrets"
    logs        = "CloudWatch Logs: VPC flow logs, EKS control plane, MSK, ElastiCache, DocumentDB, WAF"
    msk         = "MSK broker storage at rest"
    elasticache = "ElastiCache (Redis) data at rest and snapshots"
    documentdb  = "DocumentDB storage, snapshots and backups"
    secrets     = "Secrets Manager secrets (Redis auth token, DocumentDB credentials, MSK SCRAM, API keys)"
    s3          = "S3 frontend bucket objects (read by CloudFront through origin access control)"
    ecr         = "ECR repository of the oms image"
    efs         = "EFS file system of the engine shard journals at rest"
  }

  # Lets IAM policies in this account grant use of the key (the AWS default key policy).
  # Without it only the key policy could grant access and the account could lock itself out.
  account_admin_statement = {
    Sid       = "EnableIamPoliciesInThisAccount"
    Effect    = "Allow"
    Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }

  # CloudWatch Logs encrypts with the key itself (not through grants), so the service
  # principal needs a key-policy statement. The encryption-context condition limits it to log
  # groups of this account and region.
  logs_statement = {
    Sid       = "AllowCloudWatchLogsOfThisAccount"
    Effect    = "Allow"
    Principal = { Service = "logs.${local.region}.amazonaws.com" }
    Action = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    Resource = "*"
    Condition = {
      ArnLike = {
        "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
      }
    }
  }

  # CloudFront origin access control decrypts SSE-KMS objects as the CloudFront service
  # principal; restrict it to distributions owned by this account.
  cloudfront_statement = {
    Sid       = "AllowCloudFrontOfThisAccountToDecrypt"
    Effect    = "Allow"
    Principal = { Service = "cloudfront.amazonaws.com" }
    Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"]
    Resource  = "*"
    Condition = {
      StringLike = {
        "aws:SourceArn" = "arn:${local.partition}:cloudfront::${local.account_id}:distribution/*"
      }
    }
  }

  extra_statements = {
    logs = [local.logs_statement]
    s3   = [local.cloudfront_statement]
  }
}

resource "aws_kms_key" "this" {
  for_each = local.keys

  description             = "${var.name}: ${each.value}"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  multi_region            = false

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.account_admin_statement], lookup(local.extra_statements, each.key, []))
  })

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_kms_alias" "this" {
  for_each = local.keys

  name          = "alias/${var.name}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
