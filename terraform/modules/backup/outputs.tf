output "vault_name" {
  description = "Name of the backup vault."
  value       = aws_backup_vault.this.name
}

output "vault_arn" {
  description = "ARN of the backup vault."
  value       = aws_backup_vault.this.arn
}

output "dr_vault_arn" {
  description = "ARN of the cross-region vault (empty when disabled)."
  value       = var.enable_cross_region_backup ? aws_backup_vault.dr[0].arn : ""
}

output "plan_id" {
  description = "ID of the daily backup plan."
  value       = aws_backup_plan.daily.id
}

output "backup_role_arn" {
  description = "Role AWS Backup uses (pass it to start-backup-job / start-restore-job)."
  value       = aws_iam_role.backup.arn
}
