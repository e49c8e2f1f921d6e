# Offline plans of the prod environment against a mocked AWS provider (terraform test).
# They check the wiring Terraform resolves only at plan time: optional modules,
# counts, conditional ALB, cross-module references. No AWS account is touched.

mock_provider "aws" {
  # Mocked values exist at plan time, so nothing is ever applied (and the data
  # volume's prevent_destroy never stands in the way of a teardown).
  override_during = plan

  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b", "us-east-1c"] }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_subnet" {
    defaults = { availability_zone = "us-east-1a" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:us-east-1:123456789012:repository/lighthouse-prod/lighthouse"
      repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lighthouse-prod/lighthouse"
    }
  }
  # The provider validates ARN arguments even against mocks: give every ARN a shape.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:lighthouse-prod-alarms" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_ebs_volume" {
    defaults = { arn = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mock-AbCdEf" }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lighthouse-prod-alb/0123456789abcdef"
      arn_suffix = "app/lighthouse-prod-alb/0123456789abcdef"
      dns_name   = "lighthouse-prod-alb-123.us-east-1.elb.amazonaws.com"
    }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lighthouse-prod-api/0123456789abcdef"
      arn_suffix = "targetgroup/lighthouse-prod-api/0123456789abcdef"
    }
  }
}

mock_provider "aws" {
  alias           = "dr"
  override_during = plan

  mock_resource "aws_backup_vault" {
    defaults = { arn = "arn:aws:backup:us-west-2:123456789012:backup-vault:lighthouse-prod-vault-dr" }
  }
}

variables {
  cloudwatch_alarm_email = "ops@example.com"
  db_password            = "0123456789abcdef0123456789abcdef"
  redis_password         = "fedcba9876543210fedcba9876543210"
  allowed_cidr_blocks    = ["203.0.113.0/24"]
  ssh_key_name           = "lighthouse-prod"
}

run "defaults_follow_the_seed" {
  command = plan

  assert {
    condition     = length(module.bastion) == 1 && length(module.service) == 1
    error_message = "bastion and service are on by default"
  }
  assert {
    condition     = module.service[0].asg_names == ["lighthouse-prod-backend", "lighthouse-prod-worker"]
    error_message = "one backend group and one worker group by default"
  }
  assert {
    condition     = module.service[0].alb_dns_name == ""
    error_message = "no load balancer without enable_public_access"
  }
  assert {
    condition     = output.alb_dns_name == "" && output.ecr_repository_url != ""
    error_message = "outputs follow the switches"
  }
  assert {
    condition     = module.service[0].image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/lighthouse-prod/lighthouse:0.1.0"
    error_message = "instances run image_tag from the environment's ECR repository"
  }
}

run "public_api_behind_an_alb" {
  command = plan

  variables {
    enable_public_access = true
    certificate_arn      = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
  }

  assert {
    condition     = module.service[0].alb_arn_suffix != ""
    error_message = "enable_public_access creates the ALB"
  }
}

run "database_only" {
  command = plan

  variables {
    deploy_backend = false
    enable_bastion = false
  }

  assert {
    condition     = length(module.service) == 0 && length(module.bastion) == 0
    error_message = "deploy_backend = false and enable_bastion = false drop those modules"
  }
  assert {
    condition     = output.service_asg_names == [] && output.bastion_public_ip == ""
    error_message = "outputs are empty without the modules"
  }
}

run "open_ssh_is_refused" {
  command = plan

  variables {
    allowed_cidr_blocks = ["0.0.0.0/0"]
  }

  expect_failures = [var.allowed_cidr_blocks]
}

run "latest_image_is_refused" {
  command = plan

  variables {
    image_tag = "latest"
  }

  expect_failures = [var.image_tag]
}

run "weak_password_is_refused" {
  command = plan

  variables {
    db_password = "short"
  }

  expect_failures = [var.db_password]
}
