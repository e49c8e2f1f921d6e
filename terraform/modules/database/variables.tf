variable "name" {
  description = "Prefix for every resource name (the environment's project_name)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database host."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet of the database host; the data volume is created in its AZ."
  type        = string
}

variable "instance_type" {
  description = "Database instance type (Graviton: the AMI is arm64)."
  type        = string
  default     = "t4g.small"
}

variable "volume_size" {
  description = "Size of the gp3 data volume in GiB."
  type        = number
  default     = 100
}

variable "volume_iops" {
  description = "Provisioned IOPS of the gp3 data volume (3000 is included in the gp3 price)."
  type        = number
  default     = 3000
}

variable "volume_throughput" {
  description = "Throughput of the gp3 data volume in MiB/s (125 is included in the gp3 price)."
  type        = number
  default     = 125
}

variable "data_mount_path" {
  description = "Where the data volume is mounted on the host."
  type        = string
  default     = "/mnt/timescaledb-data"
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the data volume."
  type        = string
}

variable "timescaledb_image" {
  description = "TimescaleDB image, pinned to an exact tag (the same one docker-compose.yml uses)."
  type        = string
}

variable "redis_image" {
  description = "Redis image, pinned to an exact tag (the same one docker-compose.yml uses)."
  type        = string
}

variable "redis_maxmemory" {
  description = "Redis maxmemory (it holds only rate-limit buckets and caches, evicted LRU)."
  type        = string
  default     = "256mb"
}

variable "db_name" {
  description = "Database created at first start."
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

variable "client_security_group_ids" {
  description = "Security groups allowed to reach PostgreSQL (5432) and Redis (6379): the service's."
  type        = list(string)
  default     = []
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

variable "ssh_key_name" {
  description = "EC2 key pair for SSH through the bastion (null for none)."
  type        = string
  default     = null
}

variable "instance_profile_name" {
  description = "Instance profile of the database host."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group for the containers' output."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
