# Alarms to one SNS topic with an email subscription: CPU > 80 %, disk > 85 %
# (CloudWatch agent), EC2 status checks (the database host auto-recovers), and
# /health failing: HealthCheckOk published each minute by every instance from
# the image's `lighthouse healthcheck`, plus ALB target health when there is an ALB.

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  region  = data.aws_region.current.name
  actions = [aws_sns_topic.alarms.arn]
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_log_group" "database" {
  name              = var.database_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "service" {
  name              = var.service_log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

# ------------------------------------------------------------- database host

resource "aws_cloudwatch_metric_alarm" "database_cpu" {
  alarm_name          = "${var.name}-database-cpu-high"
  alarm_description   = "Database host CPU above ${var.cpu_threshold_percent}% for 15 minutes."
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { InstanceId = var.database_instance_id }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cpu_threshold_percent
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "database_disk" {
  for_each = toset(["/", var.database_data_path])

  alarm_name          = "${var.name}-database-disk-high${replace(each.key, "/", "-")}"
  alarm_description   = "Database host disk ${each.key} more than ${var.disk_threshold_percent}% full."
  namespace           = "CWAgent"
  metric_name         = "disk_used_percent"
  dimensions          = { InstanceId = var.database_instance_id, path = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.disk_threshold_percent
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "database_status" {
  alarm_name          = "${var.name}-database-status-check"
  alarm_description   = "Database host failed its system status check: EC2 recovers it onto new hardware (same volume, same address)."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_System"
  dimensions          = { InstanceId = var.database_instance_id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  alarm_actions       = concat(local.actions, ["arn:${data.aws_partition.current.partition}:automate:${local.region}:ec2:recover"])
  ok_actions          = local.actions

  tags = var.tags
}

# ---------------------------------------------------------------- service

resource "aws_cloudwatch_metric_alarm" "service_cpu" {
  count = var.enable_service_alarms ? length(var.service_asg_names) : 0

  alarm_name          = "${var.service_asg_names[count.index]}-cpu-high"
  alarm_description   = "${var.service_asg_names[count.index]} average CPU above ${var.cpu_threshold_percent}% for 15 minutes."
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { AutoScalingGroupName = var.service_asg_names[count.index] }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cpu_threshold_percent
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "service_disk" {
  count = var.enable_service_alarms ? length(var.service_asg_names) : 0

  alarm_name          = "${var.service_asg_names[count.index]}-disk-high"
  alarm_description   = "${var.service_asg_names[count.index]} root disk more than ${var.disk_threshold_percent}% full on some instance."
  namespace           = "CWAgent"
  metric_name         = "disk_used_percent"
  dimensions          = { AutoScalingGroupName = var.service_asg_names[count.index], path = "/" }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.disk_threshold_percent
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

# /health: the minimum over instances of HealthCheckOk; no data counts as failing.
resource "aws_cloudwatch_metric_alarm" "service_health" {
  count = var.enable_service_alarms ? length(var.service_asg_names) : 0

  alarm_name          = "${var.service_asg_names[count.index]}-health-failing"
  alarm_description   = "`lighthouse healthcheck` (GET /health) failed on an instance of ${var.service_asg_names[count.index]} for 3 minutes, or no instance reported."
  namespace           = var.health_metric_namespace
  metric_name         = "HealthCheckOk"
  dimensions          = { AutoScalingGroupName = var.service_asg_names[count.index] }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "alb_unhealthy" {
  count = var.enable_alb_alarms ? 1 : 0

  alarm_name          = "${var.name}-alb-no-healthy-targets"
  alarm_description   = "The load balancer sees no instance answering /health with 200."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  count = var.enable_alb_alarms ? 1 : 0

  alarm_name          = "${var.name}-alb-5xx"
  alarm_description   = "More than 10 target 5xx answers in 5 minutes (the API should map every user-caused error to 4xx)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 10
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

# ---------------------------------------------------------------- dashboard

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(
      [
        {
          type = "metric", x = 0, y = 0, width = 12, height = 6
          properties = {
            title  = "Database host: CPU, memory, disk (%)"
            region = local.region
            view   = "timeSeries"
            metrics = [
              ["AWS/EC2", "CPUUtilization", "InstanceId", var.database_instance_id],
              ["CWAgent", "mem_used_percent", "InstanceId", var.database_instance_id],
              ["CWAgent", "disk_used_percent", "InstanceId", var.database_instance_id, "path", var.database_data_path],
            ]
          }
        },
        {
          type = "metric", x = 12, y = 0, width = 12, height = 6
          properties = {
            title  = "Database host: network (bytes)"
            region = local.region
            view   = "timeSeries"
            metrics = [
              ["AWS/EC2", "NetworkIn", "InstanceId", var.database_instance_id],
              ["AWS/EC2", "NetworkOut", "InstanceId", var.database_instance_id],
            ]
          }
        },
      ],
      [
        for i, asg in(var.enable_service_alarms ? var.service_asg_names : []) : {
          type = "metric", x = 0, y = 6 + 6 * i, width = 24, height = 6
          properties = {
            title  = "${asg}: CPU, memory (%), /health (min)"
            region = local.region
            view   = "timeSeries"
            metrics = [
              ["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", asg],
              ["CWAgent", "mem_used_percent", "AutoScalingGroupName", asg],
              [var.health_metric_namespace, "HealthCheckOk", "AutoScalingGroupName", asg, { stat = "Minimum", yAxis = "right" }],
            ]
          }
        }
      ],
    )
  })
}
