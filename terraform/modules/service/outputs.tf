output "ecr_repository_url" {
  description = "Push the image here (docker push <url>:<image_tag>)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecr_repository_arn" {
  description = "ARN of the ECR repository."
  value       = aws_ecr_repository.this.arn
}

output "image" {
  description = "Full image reference the instances run."
  value       = local.image
}

output "security_group_id" {
  description = "Security group of the service instances (the database admits it)."
  value       = aws_security_group.service.id
}

output "asg_names" {
  description = "Auto Scaling group names, one per running role."
  value       = [for role in keys(local.active_roles) : aws_autoscaling_group.role[role].name]
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (empty without one)."
  value       = var.enable_load_balancer ? aws_lb.this[0].dns_name : ""
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer, for CloudWatch dimensions (empty without one)."
  value       = var.enable_load_balancer ? aws_lb.this[0].arn_suffix : ""
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the API target group, for CloudWatch dimensions (empty without one)."
  value       = var.enable_load_balancer ? aws_lb_target_group.api[0].arn_suffix : ""
}
