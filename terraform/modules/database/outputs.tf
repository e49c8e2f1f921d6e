output "instance_id" {
  description = "Instance ID of the database host."
  value       = aws_instance.database.id
}

output "private_ip" {
  description = "Private address of the database host."
  value       = aws_instance.database.private_ip
}

output "endpoint" {
  description = "PostgreSQL endpoint as host:port."
  value       = "${aws_instance.database.private_ip}:5432"
}

output "redis_endpoint" {
  description = "Redis endpoint as host:port."
  value       = "${aws_instance.database.private_ip}:6379"
}

output "security_group_id" {
  description = "Security group of the database host."
  value       = aws_security_group.database.id
}

output "volume_id" {
  description = "ID of the TimescaleDB data volume."
  value       = aws_ebs_volume.data.id
}

output "volume_arn" {
  description = "ARN of the TimescaleDB data volume (what AWS Backup protects)."
  value       = aws_ebs_volume.data.arn
}

output "data_mount_path" {
  description = "Mount path of the data volume (the disk alarm watches it)."
  value       = var.data_mount_path
}
