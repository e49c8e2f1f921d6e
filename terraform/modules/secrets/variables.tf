variable "name" {
  description = "Prefix for every resource name (the environment's project_name)."
  type        = string
}

variable "db_username" {
  description = "PostgreSQL user the service connects as."
  type        = string
  default     = "lighthouse"
}

variable "db_password" {
  description = "PostgreSQL password. Ephemeral: written to Secrets Manager as a write-only value, never stored in Terraform state."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "redis_password" {
  description = "Redis password (requirepass). Ephemeral: written to Secrets Manager as a write-only value, never stored in Terraform state."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "password_version" {
  description = "Bump to write new db_password / redis_password values into Secrets Manager (write-only values are only sent when this changes)."
  type        = number
  default     = 1
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
