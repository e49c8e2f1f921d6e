variable "name" {
  description = "Prefix for every resource name (the environment's project_name)."
  type        = string
}

variable "resource_arns" {
  description = "Resources to back up (the TimescaleDB data volume)."
  type        = list(string)
}

variable "retention_days" {
  description = "Days each daily recovery point is kept."
  type        = number
  default     = 30
}

variable "schedule" {
  description = "When the daily backup starts (AWS cron, UTC)."
  type        = string
  default     = "cron(0 5 * * ? *)"
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the vault."
  type        = string
}

variable "enable_cross_region_backup" {
  description = "Also copy each recovery point to a vault in the aws.dr provider's region."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
