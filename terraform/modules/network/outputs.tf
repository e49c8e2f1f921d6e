output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet IDs, in the order of public_subnet_cidrs."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet IDs, in the order of private_subnet_cidrs."
  value       = aws_subnet.private[*].id
}

output "nat_public_ip" {
  description = "Public address the private subnets leave through (allow-list it at monitored targets if needed)."
  value       = aws_eip.nat.public_ip
}
