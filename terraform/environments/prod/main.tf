# Lighthouse on AWS, after the seed's Option B: a VPC with a NAT gateway, a
# bastion, TimescaleDB (and Redis) on a Graviton EC2 host with a gp3 data volume,
# the Lighthouse image from ECR on Auto Scaling groups with an optional ALB, daily
# AWS Backup, CloudWatch alarms to SNS email, Secrets Manager, least-privilege roles.

locals {
  name = var.project_name

  tags = {
    Project     = "lighthouse"
    Name        = var.project_name
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  database_log_group_name = "/lighthouse/${var.project_name}/database"
  service_log_group_name  = "/lighthouse/${var.project_name}/service"
  ssh_key_name            = var.ssh_key_name == "" ? null : var.ssh_key_name
  enable_load_balancer    = var.deploy_backend && var.enable_public_access

  app_environment = {
    USDC_CONTRACT_ADDRESS = var.usdc_contract_address
    PAYMENT_ADDRESS       = var.payment_address
    RPC_URL_FUJI          = var.rpc_url_fuji
    RPC_URL_BASE_SEPOLIA  = var.rpc_url_base_sepolia
    FACILITATOR_URL       = var.facilitator_url
    PUBLIC_BASE_URL       = var.public_base_url
    LOG_LEVEL             = var.log_level
  }
}

module "secrets" {
  source = "../../modules/secrets"

  name             = local.name
  db_password      = var.db_password
  redis_password   = var.redis_password
  password_version = var.password_version
}

module "network" {
  source = "../../modules/network"

  name                 = local.name
  vpc_cidr             = var.vpc_cidr
  public_subnet_cidrs  = var.public_subnet_cidrs
  private_subnet_cidrs = var.private_subnet_cidrs
  kms_key_arn          = module.secrets.kms_key_arn
}

module "iam" {
  source = "../../modules/iam"

  name                    = local.name
  kms_key_arn             = module.secrets.kms_key_arn
  database_secret_arns    = [module.secrets.database_secret_arn, module.secrets.redis_secret_arn]
  service_secret_arns     = concat([module.secrets.database_secret_arn, module.secrets.redis_secret_arn], values(module.secrets.app_secret_arns))
  ecr_repository_arns     = [for s in module.service : s.ecr_repository_arn]
  database_log_group_name = local.database_log_group_name
  service_log_group_name  = local.service_log_group_name
}

module "bastion" {
  source = "../../modules/bastion"
  count  = var.enable_bastion ? 1 : 0

  name                  = local.name
  vpc_id                = module.network.vpc_id
  vpc_cidr              = module.network.vpc_cidr
  subnet_id             = module.network.public_subnet_ids[0]
  allowed_ssh_cidrs     = var.allowed_cidr_blocks
  ssh_key_name          = local.ssh_key_name
  instance_profile_name = module.iam.bastion_instance_profile_name
}

module "database" {
  source = "../../modules/database"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_id                 = module.network.private_subnet_ids[0]
  instance_type             = var.db_instance_type
  volume_size               = var.db_volume_size
  kms_key_arn               = module.secrets.kms_key_arn
  timescaledb_image         = var.timescaledb_image
  redis_image               = var.redis_image
  database_secret_arn       = module.secrets.database_secret_arn
  redis_secret_arn          = module.secrets.redis_secret_arn
  client_security_group_ids = [for s in module.service : s.security_group_id]
  enable_ssh_from_bastion   = var.enable_bastion
  bastion_security_group_id = var.enable_bastion ? module.bastion[0].security_group_id : ""
  ssh_key_name              = local.ssh_key_name
  instance_profile_name     = module.iam.database_instance_profile_name
  log_group_name            = module.monitoring.database_log_group_name
}

module "service" {
  source = "../../modules/service"
  count  = var.deploy_backend ? 1 : 0

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  private_subnet_ids        = module.network.private_subnet_ids
  public_subnet_ids         = module.network.public_subnet_ids
  instance_type             = var.backend_instance_type
  backend_instance_count    = var.backend_instance_count
  worker_instance_count     = var.worker_instance_count
  image_tag                 = var.image_tag
  kms_key_arn               = module.secrets.kms_key_arn
  instance_profile_name     = module.iam.service_instance_profile_name
  ssh_key_name              = local.ssh_key_name
  enable_ssh_from_bastion   = var.enable_bastion
  bastion_security_group_id = var.enable_bastion ? module.bastion[0].security_group_id : ""
  enable_load_balancer      = local.enable_load_balancer
  certificate_arn           = var.certificate_arn
  metrics_cidrs             = var.metrics_cidrs
  database_host             = module.database.private_ip
  database_secret_arn       = module.secrets.database_secret_arn
  redis_secret_arn          = module.secrets.redis_secret_arn
  app_secret_arns           = module.secrets.app_secret_arns
  app_environment           = local.app_environment
  log_group_name            = module.monitoring.service_log_group_name
}

module "backup" {
  source = "../../modules/backup"

  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  name                       = local.name
  resource_arns              = [module.database.volume_arn]
  retention_days             = var.backup_retention_days
  kms_key_arn                = module.secrets.kms_key_arn
  enable_cross_region_backup = var.enable_cross_region_backup
}

module "monitoring" {
  source = "../../modules/monitoring"

  name                    = local.name
  alarm_email             = var.cloudwatch_alarm_email
  kms_key_arn             = module.secrets.kms_key_arn
  log_retention_days      = var.log_retention_days
  database_log_group_name = local.database_log_group_name
  service_log_group_name  = local.service_log_group_name
  database_instance_id    = module.database.instance_id
  database_data_path      = module.database.data_mount_path
  enable_service_alarms   = var.deploy_backend
  service_asg_names       = var.deploy_backend ? module.service[0].asg_names : []
  enable_alb_alarms       = local.enable_load_balancer
  alb_arn_suffix          = local.enable_load_balancer ? module.service[0].alb_arn_suffix : ""
  target_group_arn_suffix = local.enable_load_balancer ? module.service[0].target_group_arn_suffix : ""
}
