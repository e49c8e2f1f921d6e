output "database_endpoint" {
  description = "PostgreSQL endpoint (private) as host:port."
  value       = module.database.endpoint
}

output "database_private_ip" {
  description = "Private address of the database host (SSH through the bastion)."
  value       = module.database.private_ip
}

output "database_connection_string" {
  description = "DATABASE_URL without the password; the password is in the secret named by database_secret_arn."
  value       = "postgresql://lighthouse:<password from ${module.secrets.database_secret_arn}>@${module.database.endpoint}/lighthouse"
  sensitive   = true
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the PostgreSQL username and password."
  value       = module.secrets.database_secret_arn
}

output "app_secret_arns" {
  description = "Secrets to fill with aws secretsmanager put-secret-value (PRIVATE_KEY, bot tokens, webhook)."
  value       = module.secrets.app_secret_arns
}

output "instance_id" {
  description = "Instance ID of the database host."
  value       = module.database.instance_id
}

output "volume_arn" {
  description = "ARN of the TimescaleDB data volume (manual backups: aws backup start-backup-job)."
  value       = module.database.volume_arn
}

output "volume_id" {
  description = "ID of the TimescaleDB data volume."
  value       = module.database.volume_id
}

output "bastion_public_ip" {
  description = "Public address of the bastion (empty without one)."
  value       = var.enable_bastion ? module.bastion[0].public_ip : ""
}

output "backup_vault_arn" {
  description = "ARN of the backup vault."
  value       = module.backup.vault_arn
}

output "backup_vault_name" {
  description = "Name of the backup vault."
  value       = module.backup.vault_name
}

output "backup_role_arn" {
  description = "Role to pass to aws backup start-backup-job / start-restore-job."
  value       = module.backup.backup_role_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the CloudWatch alarms."
  value       = module.monitoring.alarm_topic_arn
}

output "cloudwatch_dashboard_url" {
  description = "CloudWatch dashboard."
  value       = module.monitoring.dashboard_url
}

output "ecr_repository_url" {
  description = "Push the Lighthouse image here (empty without deploy_backend)."
  value       = var.deploy_backend ? module.service[0].ecr_repository_url : ""
}

output "service_asg_names" {
  description = "Auto Scaling groups of the service (scale with backend_instance_count / worker_instance_count)."
  value       = var.deploy_backend ? module.service[0].asg_names : []
}

output "alb_dns_name" {
  description = "DNS name of the public load balancer (empty without one)."
  value       = local.enable_load_balancer ? module.service[0].alb_dns_name : ""
}

output "nat_public_ip" {
  description = "Address the checks leave from (targets that allow-list monitors need it)."
  value       = module.network.nat_public_ip
}
