# Names follow the seed's terraform.tfvars; the rest have safe defaults.

variable "project_name" {
  description = "Prefix of every resource name, e.g. lighthouse-prod."
  type        = string
  default     = "lighthouse-prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,23}$", var.project_name))
    error_message = "project_name: 3-24 characters, lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name, used in tags."
  type        = string
  default     = "production"

  validation {
    condition     = contains(["production", "staging", "development"], var.environment)
    error_message = "environment must be production, staging or development."
  }
}

variable "aws_region" {
  description = "AWS region of the deployment."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "dr_region" {
  description = "Region for cross-region backup copies."
  type        = string
  default     = "us-west-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.dr_region)) && var.dr_region != var.aws_region
    error_message = "dr_region must be a region name different from aws_region."
  }
}

# ------------------------------------------------------------------ network

variable "vpc_cidr" {
  description = "VPC CIDR block."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "public_subnet_cidrs" {
  description = "Public subnets (NAT, bastion, ALB), one per AZ; the ALB needs two."
  type        = list(string)
  default     = ["10.0.1.0/24", "10.0.3.0/24"]

  validation {
    condition     = length(var.public_subnet_cidrs) >= 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "public_subnet_cidrs: at least two valid CIDR blocks (an ALB spans two AZs)."
  }
}

variable "private_subnet_cidrs" {
  description = "Private subnets (database, service), one per AZ."
  type        = list(string)
  default     = ["10.0.2.0/24", "10.0.4.0/24"]

  validation {
    condition     = length(var.private_subnet_cidrs) >= 1 && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "private_subnet_cidrs: at least one valid CIDR block."
  }
}

variable "allowed_cidr_blocks" {
  description = "Networks allowed to SSH into the bastion (your office or VPN). Nothing else is reachable from outside except the optional ALB."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "allowed_cidr_blocks: valid CIDR blocks, never 0.0.0.0/0."
  }

  validation {
    condition     = !var.enable_bastion || length(var.allowed_cidr_blocks) > 0
    error_message = "enable_bastion = true needs at least one CIDR block in allowed_cidr_blocks."
  }
}

variable "enable_public_access" {
  description = "Expose the API to the internet through an ALB (needs deploy_backend). The database and Redis never get public addresses."
  type        = bool
  default     = false

  validation {
    condition     = !var.enable_public_access || var.deploy_backend
    error_message = "enable_public_access = true needs deploy_backend = true (the ALB fronts the service)."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for the ALB's HTTPS listener. Empty: plain HTTP (testing only)."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "ssh_key_name" {
  description = "EC2 key pair name for SSH through the bastion. Empty: no key (use Session Manager)."
  type        = string
  default     = ""
}

variable "enable_bastion" {
  description = "Create the SSH bastion in a public subnet."
  type        = bool
  default     = true
}

# ----------------------------------------------------------------- database

variable "db_instance_type" {
  description = "Database host instance type (Graviton)."
  type        = string
  default     = "t4g.small"

  validation {
    condition     = can(regex("^(t4g|m6g|m7g|m8g|r6g|r7g|r8g|c6g|c7g)\\.[a-z0-9]+$", var.db_instance_type))
    error_message = "db_instance_type must be a Graviton (arm64) type such as t4g.small: the AMI is arm64."
  }
}

variable "db_volume_size" {
  description = "Size of the gp3 data volume in GiB."
  type        = number
  default     = 100

  validation {
    condition     = var.db_volume_size >= 20 && var.db_volume_size <= 16384
    error_message = "db_volume_size must be between 20 and 16384 GiB."
  }
}

variable "db_password" {
  description = "PostgreSQL password (also in DATABASE_URL, so URL-safe characters only). Ephemeral: never stored in the state. Prefer TF_VAR_db_password over the tfvars file."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.db_password) >= 20 && can(regex("^[A-Za-z0-9._~-]+$", var.db_password))
    error_message = "db_password: at least 20 characters from A-Z a-z 0-9 . _ ~ - (e.g. openssl rand -hex 24)."
  }
}

variable "redis_password" {
  description = "Redis password (also in REDIS_URL, so URL-safe characters only). Ephemeral: never stored in the state."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.redis_password) >= 20 && can(regex("^[A-Za-z0-9._~-]+$", var.redis_password))
    error_message = "redis_password: at least 20 characters from A-Z a-z 0-9 . _ ~ - (e.g. openssl rand -hex 24)."
  }
}

variable "password_version" {
  description = "Increase by one to push new db_password/redis_password values to Secrets Manager (rotation)."
  type        = number
  default     = 1

  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number >= 1."
  }
}

variable "timescaledb_image" {
  description = "TimescaleDB image at an exact tag; keep it equal to docker-compose.yml's."
  type        = string
  default     = "timescale/timescaledb:2.28.3-pg16"

  validation {
    condition     = can(regex("^timescale/timescaledb(-ha)?:[0-9]+\\.[0-9]+\\.[0-9]+-pg1[6-8]$", var.timescaledb_image))
    error_message = "timescaledb_image must be pinned to an exact 2.x tag on PostgreSQL 16-18, e.g. timescale/timescaledb:2.28.3-pg16."
  }
}

variable "redis_image" {
  description = "Redis image at an exact tag; keep it equal to docker-compose.yml's."
  type        = string
  default     = "redis:7.4.2-alpine"

  validation {
    condition     = can(regex("^redis:7\\.[0-9]+\\.[0-9]+(-[a-z0-9.]+)?$", var.redis_image))
    error_message = "redis_image must be pinned to an exact 7.x tag, e.g. redis:7.4.2-alpine."
  }
}

# ------------------------------------------------------------------ backups

variable "backup_retention_days" {
  description = "Days each daily backup is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 3650
    error_message = "backup_retention_days must be between 7 and 3650."
  }
}

variable "enable_cross_region_backup" {
  description = "Copy every backup to a vault in dr_region."
  type        = bool
  default     = false
}

# --------------------------------------------------------------- monitoring

variable "cloudwatch_alarm_email" {
  description = "Email address that receives the alarms."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.cloudwatch_alarm_email))
    error_message = "cloudwatch_alarm_email must be an email address."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ...)."
  }
}

# ------------------------------------------------------------------ service

variable "deploy_backend" {
  description = "Run the Lighthouse image on EC2 (Auto Scaling groups) in this environment."
  type        = bool
  default     = true
}

variable "backend_instance_type" {
  description = "Service instance type (Graviton: build the image for linux/arm64)."
  type        = string
  default     = "t4g.small"

  validation {
    condition     = can(regex("^(t4g|m6g|m7g|m8g|r6g|r7g|r8g|c6g|c7g)\\.[a-z0-9]+$", var.backend_instance_type))
    error_message = "backend_instance_type must be a Graviton (arm64) type such as t4g.small."
  }
}

variable "backend_instance_count" {
  description = "Instances running `lighthouse run` (API, bots, scheduler, delivery). The bots run in each: keep 1 unless the runtime elects one bot owner (docs/deploy.md, scaling)."
  type        = number
  default     = 1

  validation {
    condition     = var.backend_instance_count >= 1 && var.backend_instance_count <= 20
    error_message = "backend_instance_count must be between 1 and 20."
  }
}

variable "worker_instance_count" {
  description = "Instances running `lighthouse worker` (scheduler and delivery only): the way to scale out."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_instance_count >= 0 && var.worker_instance_count <= 50
    error_message = "worker_instance_count must be between 0 and 50."
  }
}

variable "image_tag" {
  description = "Tag of the Lighthouse image pushed to ECR (a version or a git SHA; tags are immutable)."
  type        = string
  default     = "0.1.0"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid, explicit tag (never latest)."
  }
}

variable "metrics_cidrs" {
  description = "Networks allowed to scrape Prometheus metrics on 9090 (e.g. a Prometheus inside the VPC)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.metrics_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "metrics_cidrs: valid CIDR blocks, never 0.0.0.0/0."
  }
}

# Non-secret application settings (the secrets live in Secrets Manager).

variable "usdc_contract_address" {
  description = "USDC contract (Avalanche Fuji: 0x5425890298aed601595a70AB815c96711a31Bc65)."
  type        = string
  default     = "0x5425890298aed601595a70AB815c96711a31Bc65"

  validation {
    condition     = var.usdc_contract_address == "" || can(regex("^0x[0-9a-fA-F]{40}$", var.usdc_contract_address))
    error_message = "usdc_contract_address must be empty or a 0x-prefixed 20-byte hex address."
  }
}

variable "payment_address" {
  description = "Address that receives USDC payments."
  type        = string
  default     = ""

  validation {
    condition     = var.payment_address == "" || can(regex("^0x[0-9a-fA-F]{40}$", var.payment_address))
    error_message = "payment_address must be empty or a 0x-prefixed 20-byte hex address."
  }
}

variable "rpc_url_fuji" {
  description = "Avalanche Fuji C-Chain JSON-RPC endpoint."
  type        = string
  default     = "https://api.avax-test.network/ext/bc/C/rpc"

  validation {
    condition     = var.rpc_url_fuji == "" || can(regex("^https?://[^'\\s]+$", var.rpc_url_fuji))
    error_message = "rpc_url_fuji must be empty or an http(s) URL without quotes or spaces."
  }
}

variable "rpc_url_base_sepolia" {
  description = "Base Sepolia JSON-RPC endpoint."
  type        = string
  default     = ""

  validation {
    condition     = var.rpc_url_base_sepolia == "" || can(regex("^https?://[^'\\s]+$", var.rpc_url_base_sepolia))
    error_message = "rpc_url_base_sepolia must be empty or an http(s) URL without quotes or spaces."
  }
}

variable "facilitator_url" {
  description = "x402 facilitator base URL."
  type        = string
  default     = ""

  validation {
    condition     = var.facilitator_url == "" || can(regex("^https?://[^'\\s]+$", var.facilitator_url))
    error_message = "facilitator_url must be empty or an http(s) URL without quotes or spaces."
  }
}

variable "public_base_url" {
  description = "Public URL of the API (links in messages, agent card)."
  type        = string
  default     = ""

  validation {
    condition     = var.public_base_url == "" || can(regex("^https?://[^'\\s]+$", var.public_base_url))
    error_message = "public_base_url must be empty or an http(s) URL without quotes or spaces."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the service."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}
