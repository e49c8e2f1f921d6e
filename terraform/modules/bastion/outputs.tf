output "security_group_id" {
  description = "Security group of the bastion (source of SSH into private hosts)."
  value       = aws_security_group.bastion.id
}

output "public_ip" {
  description = "Public address of the bastion."
  value       = aws_instance.bastion.public_ip
}

output "instance_id" {
  description = "Instance ID of the bastion."
  value       = aws_instance.bastion.id
}
