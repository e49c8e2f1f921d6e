variable "name" {
  description = "Prefix for every resource name (the environment's project_name)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the instances run in."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for the load balancer (two AZs at least)."
  type        = list(string)
}

variable "instance_type" {
  description = "Instance type of the service instances (Graviton: the AMI and image are arm64)."
  type        = string
  default     = "t4g.small"
}

variable "backend_instance_count" {
  description = "Instances running `lighthouse run` (API, bots, scheduler, delivery)."
  type        = number
  default     = 1
}

variable "worker_instance_count" {
  description = "Extra instances running `lighthouse worker` (scheduler and delivery only)."
  type        = number
  default     = 0
}

variable "image_tag" {
  description = "Tag of the Lighthouse image in the ECR repository (immutable tags; never latest)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the ECR repository."
  type        = string
}

variable "instance_profile_name" {
  description = "Instance profile of the service instances."
  type        = string
}

variable "ssh_key_name" {
  description = "EC2 key pair for SSH through the bastion (null for none)."
  type        = string
  default     = null
}

variable "enable_ssh_from_bastion" {
  description = "Allow SSH from the bastion's security group."
  type        = bool
  default     = false
}

variable "bastion_security_group_id" {
  description = "Security group of the bastion (used when enable_ssh_from_bastion)."
  type        = string
  default     = ""
}

variable "enable_load_balancer" {
  description = "Put an internet-facing ALB in front of the API (8080 then accepts traffic from the ALB only)."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener. Empty: plain HTTP on port 80 (testing only)."
  type        = string
  default     = ""
}

variable "alb_ingress_cidrs" {
  description = "Who may reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "metrics_cidrs" {
  description = "CIDR blocks allowed to scrape Prometheus metrics on 9090 (e.g. a Prometheus in the VPC)."
  type        = list(string)
  default     = []
}

variable "database_host" {
  description = "Private address of the TimescaleDB/Redis host."
  type        = string
}

variable "db_name" {
  description = "Database name."
  type        = string
  default     = "lighthouse"
}

variable "database_secret_arn" {
  description = "Secret holding {username, password} for PostgreSQL."
  type        = string
}

variable "redis_secret_arn" {
  description = "Secret holding the Redis password."
  type        = string
}

variable "app_secret_arns" {
  description = "Environment variable => secret ARN (PRIVATE_KEY, bot tokens, webhook). Empty secrets are left unset."
  type        = map(string)
  default     = {}
}

variable "app_environment" {
  description = "Non-secret environment for the containers (USDC_CONTRACT_ADDRESS, RPC_URL_FUJI, FACILITATOR_URL, ...)."
  type        = map(string)
  default     = {}
}

variable "log_group_name" {
  description = "CloudWatch log group for the containers' output."
  type        = string
}

variable "health_metric_namespace" {
  description = "Namespace of the per-minute HealthCheckOk metric each instance publishes."
  type        = string
  default     = "Lighthouse"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
