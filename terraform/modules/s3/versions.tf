terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # CloudFront-scoped WAF ACLs and CloudFront certificates exist only in us-east-1.
      configuration_aliases = [aws.us_east_1]
    }
  }
}
