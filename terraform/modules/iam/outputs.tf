output "database_instance_profile_name" {
  description = "Instance profile of the database host."
  value       = aws_iam_instance_profile.database.name
}

output "service_instance_profile_name" {
  description = "Instance profile of the service instances."
  value       = aws_iam_instance_profile.service.name
}

output "bastion_instance_profile_name" {
  description = "Instance profile of the bastion."
  value       = aws_iam_instance_profile.bastion.name
}

output "database_role_arn" {
  description = "Role of the database host."
  value       = aws_iam_role.database.arn
}

output "service_role_arn" {
  description = "Role of the service instances."
  value       = aws_iam_role.service.arn
}
