variable "name" {
  description = "Prefix for every resource name (the environment's project_name)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the bastion lives in."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the VPC: the bastion may open SSH connections only inside it."
  type        = string
}

variable "subnet_id" {
  description = "Public subnet for the bastion."
  type        = string
}

variable "allowed_ssh_cidrs" {
  description = "CIDR blocks allowed to reach the bastion on port 22."
  type        = list(string)

  validation {
    condition     = length(var.allowed_ssh_cidrs) > 0 && alltrue([for c in var.allowed_ssh_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "allowed_ssh_cidrs must be non-empty valid CIDR blocks, and never 0.0.0.0/0."
  }
}

variable "instance_type" {
  description = "Bastion instance type (Graviton)."
  type        = string
  default     = "t4g.nano"
}

variable "ssh_key_name" {
  description = "EC2 key pair for SSH."
  type        = string
}

variable "instance_profile_name" {
  description = "Instance profile (Session Manager only)."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
