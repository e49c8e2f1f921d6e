output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_url" {
  description = "CloudWatch dashboard of the environment."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards:name=${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "database_log_group_name" {
  description = "Log group of the database host."
  value       = aws_cloudwatch_log_group.database.name
}

output "service_log_group_name" {
  description = "Log group of the Lighthouse containers."
  value       = aws_cloudwatch_log_group.service.name
}
