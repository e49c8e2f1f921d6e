variable "name" {
  description = "Prefix for every resource name (the environment's project_name)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secrets, images and log groups."
  type        = string
}

variable "database_secret_arns" {
  description = "Secrets the database host reads at boot (PostgreSQL and Redis passwords)."
  type        = list(string)
}

variable "service_secret_arns" {
  description = "Secrets the service instances read at boot (database, Redis, PRIVATE_KEY, bot tokens)."
  type        = list(string)
}

variable "ecr_repository_arns" {
  description = "ECR repositories the service instances may pull from (empty when no service is deployed)."
  type        = list(string)
  default     = []
}

variable "database_log_group_name" {
  description = "CloudWatch log group the database host writes to."
  type        = string
}

variable "service_log_group_name" {
  description = "CloudWatch log group the service containers write to."
  type        = string
}

variable "metric_namespaces" {
  description = "CloudWatch namespaces the instances may publish metrics to (the agent's and the health probe's)."
  type        = list(string)
  default     = ["CWAgent", "Lighthouse"]
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
