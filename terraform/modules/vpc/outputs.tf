output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "VPC CIDR (the NetworkPolicy ipBlock for ALB traffic and AWS endpoints)."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones in use."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnets (ALB)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (EKS nodes, data stores)."
  value       = aws_subnet.private[*].id
}

output "private_route_table_ids" {
  description = "Private route tables."
  value       = aws_route_table.private[*].id
}

output "nat_public_ips" {
  description = "Egress IPs of the NAT gateways (for allow-lists at third parties)."
  value       = aws_eip.nat[*].public_ip
}
