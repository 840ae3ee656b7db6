# Plan-level tests with a mocked AWS provider: no credentials and no network. They evaluate
# every expression, count/for_each, precondition and variable validation with real inputs,
# which `terraform validate` does not. Run (offline, with a provider mirror):
#
#   terraform -chdir=terraform init -backend=false -plugin-dir=/opt/tf-plugins
#   terraform -chdir=terraform test -var-file=terraform.tfvars.example                  # prod
#   terraform -chdir=terraform test -var-file=examples/cost-optimized/terraform.tfvars  # dev
#
# scripts/validate-deploy.sh runs both when a terraform binary and a mirror are present.
# Mocked data sources return placeholders, so only the shape of the plan is tested here,
# never the values AWS would return.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c"]
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  # Long enough for ElastiCache's 16-128 character AUTH token rule.
  mock_data "aws_secretsmanager_random_password" {
    defaults = {
      random_password = "MockPassword0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_resource "aws_msk_cluster" {
    defaults = {
      arn = "arn:aws:kafka:us-east-1:111122223333:cluster/oms/11111111-2222-3333-4444-555555555555-1"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::111122223333:role/mock"
    }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = {
      arn = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/MOCK"
    }
  }
  mock_resource "aws_eks_cluster" {
    defaults = {
      identity = [{ oidc = [{ issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/MOCK" }] }]
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:111122223333:log-group:mock"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mock-bucket"
    }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:mock"
    }
  }
  mock_resource "aws_wafv2_web_acl" {
    defaults = {
      arn = "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/mock/1"
    }
  }
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:us-east-1:111122223333:certificate/mock"
      domain_validation_options = [
        { domain_name = "oms.example.com", resource_record_name = "_x.oms.example.com.", resource_record_type = "CNAME", resource_record_value = "_y.acm-validations.aws." },
        { domain_name = "oms-dev.example.com", resource_record_name = "_x.oms-dev.example.com.", resource_record_type = "CNAME", resource_record_value = "_y.acm-validations.aws." },
      ]
    }
  }
  mock_resource "aws_cloudfront_distribution" {
    defaults = {
      arn = "arn:aws:cloudfront::111122223333:distribution/MOCK"
    }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    }
  }
  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:us-east-1:111122223333:certificate/mock"
      domain_validation_options = [
        { domain_name = "app.oms.example.com", resource_record_name = "_x.app.oms.example.com.", resource_record_type = "CNAME", resource_record_value = "_y.acm-validations.aws." },
      ]
    }
  }
}

run "plan" {
  command = plan

  assert {
    condition     = length(module.vpc.private_subnet_ids) == var.az_count && length(module.vpc.public_subnet_ids) == var.az_count
    error_message = "one public and one private subnet per AZ"
  }

  assert {
    condition     = length(module.vpc.nat_public_ips) == (var.single_nat_gateway ? 1 : var.az_count)
    error_message = "NAT gateways: one, or one per AZ"
  }

  assert {
    condition     = var.msk_auth_mode == "scram" && module.msk.client_port == 9096
    error_message = "MSK: SASL/SCRAM on port 9096 (the only mode the oms binary supports)"
  }

  assert {
    condition     = startswith(module.msk.scram_secret_name, "AmazonMSK_")
    error_message = "the SCRAM secret exists and its name starts with AmazonMSK_ (MSK associates no other)"
  }

  assert {
    condition     = output.msk_scram_secret_name == "AmazonMSK_${var.name_prefix}-${var.environment}_oms"
    error_message = "the SCRAM secret is output as AmazonMSK_<name>-<env>_oms, the remoteRef.key of the overlays' ExternalSecret oms-kafka-credentials"
  }

  assert {
    condition     = toset(keys(aws_iam_role.irsa)) == toset(["external-secrets", "aws-load-balancer-controller"])
    error_message = "IRSA roles: external-secrets and the load balancer controller only (the OMS pods call no AWS API)"
  }

  assert {
    condition     = length(module.efs.mount_target_ids) == var.az_count
    error_message = "one EFS mount target per private subnet (AZ)"
  }

  assert {
    condition     = var.enable_frontend_cdn == (length(module.frontend) == 1)
    error_message = "CDN module follows enable_frontend_cdn"
  }
}

# MSK IAM auth exists in modules/msk, but the oms binary cannot sign its tokens: the root
# variable's validation must refuse it at plan time rather than deploy pods that cannot
# connect.
run "msk_iam_refused" {
  command = plan

  variables {
    msk_auth_mode = "iam"
  }

  expect_failures = [var.msk_auth_mode]
}
