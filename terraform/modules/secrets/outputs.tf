output "kms_key_arn" {
  description = "ARN of the environment's KMS key."
  value       = aws_kms_key.this.arn
}

output "database_secret_arn" {
  description = "ARN of the secret holding {username, password} for PostgreSQL."
  value       = aws_secretsmanager_secret.database.arn
}

output "redis_secret_arn" {
  description = "ARN of the secret holding the Redis password."
  value       = aws_secretsmanager_secret.redis.arn
}

output "app_secret_arns" {
  description = "Environment variable name => ARN of the secret holding its value."
  value       = { for k, s in aws_secretsmanager_secret.app : k => s.arn }
}
