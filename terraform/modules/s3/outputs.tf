output "bucket" {
  description = "Frontend bucket (upload frontend/dist here)."
  value       = aws_s3_bucket.frontend.bucket
}

output "distribution_id" {
  description = "CloudFront distribution id (for cache invalidations)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_domain_name" {
  description = "CloudFront domain; point domain_name at it (CNAME or Route 53 alias)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "distribution_hosted_zone_id" {
  description = "Hosted zone id for a Route 53 alias record."
  value       = aws_cloudfront_distribution.this.hosted_zone_id
}
