# Version pins for the whole stack.
#
# Only the hashicorp/aws provider is used on purpose: passwords and auth tokens come from
# Secrets Manager (aws_secretsmanager_random_password) instead of hashicorp/random, so the
# configuration validates offline against a single mirrored provider (see
# scripts/validate-deploy.sh) and there is one provider fewer to audit and upgrade.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x only: 6.0 changed region handling and several resource schemas used here.
      version = "~> 5.60"
    }
  }

  # Remote state in S3. Partial configuration: bucket, key, region and locking are given at
  # init time (`terraform init -backend-config=backend.hcl`, see docs/deployment.md) so the
  # same code serves dev and prod without committing account-specific names.
  backend "s3" {}
}
