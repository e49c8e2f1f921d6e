variable "name" {
  description = "Prefix for every resource name (the environment's project_name)."
  type        = string
}

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (confirm the subscription mail)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the SNS topic and the log groups."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the application and database log groups, in days."
  type        = number
  default     = 365
}

variable "database_log_group_name" {
  description = "Log group for the database host's containers."
  type        = string
}

variable "service_log_group_name" {
  description = "Log group for the Lighthouse containers."
  type        = string
}

variable "database_instance_id" {
  description = "Instance ID of the database host."
  type        = string
}

variable "database_data_path" {
  description = "Mount path of the data volume (disk alarm dimension)."
  type        = string
}

variable "enable_service_alarms" {
  description = "Create alarms for the service Auto Scaling groups (deploy_backend)."
  type        = bool
  default     = false
}

variable "service_asg_names" {
  description = "Auto Scaling groups of the service, one per role."
  type        = list(string)
  default     = []
}

variable "enable_alb_alarms" {
  description = "Create the load-balancer target-health alarm."
  type        = bool
  default     = false
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the load balancer."
  type        = string
  default     = ""
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the API target group."
  type        = string
  default     = ""
}

variable "health_metric_namespace" {
  description = "Namespace of the instances' HealthCheckOk metric."
  type        = string
  default     = "Lighthouse"
}

variable "cpu_threshold_percent" {
  description = "CPU alarm threshold."
  type        = number
  default     = 80
}

variable "disk_threshold_percent" {
  description = "Disk usage alarm threshold."
  type        = number
  default     = 85
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
