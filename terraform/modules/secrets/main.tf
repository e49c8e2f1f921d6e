# One customer-managed KMS key for the environment (secrets, database volume,
# log groups, SNS, ECR, backup vault) and one Secrets Manager secret per value.
#
# PRIVATE_KEY and the bot tokens are created empty: their values are put with
# `aws secretsmanager put-secret-value` (docs/deploy.md) and never pass through
# Terraform. The database and Redis passwords come from ephemeral variables and
# are written as write-only values, so no secret lands in the state file.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # Application secrets the operator fills in; the key is the environment variable.
  app_secrets = {
    PRIVATE_KEY         = "Signing key of the payment wallet (hex). Leave empty to disable signing."
    DISCORD_BOT_TOKEN   = "Discord bot token. Empty disables the Discord bot."
    TELEGRAM_BOT_TOKEN  = "Telegram bot token. Empty disables the Telegram bot."
    DISCORD_WEBHOOK_URL = "Default Discord webhook for operator alerts."
    # Every instance must have the same key, or alerts to channels it did not encrypt wait.
    LIGHTHOUSE_SECRET_KEY = "Fernet key(s) encrypting alert-channel secrets at rest (docs/deploy.md). Empty: stored unencrypted."
  }
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the account root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; service principals are limited by conditions.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only.
  # Key administration and use stay with IAM policies of this account.
  statement {
    sid       = "AccountRoot"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # CloudWatch alarms publish to the encrypted SNS topic.
  statement {
    sid       = "CloudWatchAlarmsToSns"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: secrets, database volume, logs, alarms, images, backups"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_secretsmanager_secret" "database" {
  #checkov:skip=CKV2_AWS_57:Rotation is manual (docs/deploy.md, secrets rotation): the password lives inside the self-managed TimescaleDB container, which no rotation Lambda can reach.
  name                    = "${var.name}/database"
  description             = "PostgreSQL credentials as JSON {username, password}."
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "database" {
  secret_id                = aws_secretsmanager_secret.database.id
  secret_string_wo         = jsonencode({ username = var.db_username, password = var.db_password })
  secret_string_wo_version = var.password_version
}

resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:Rotation is manual (docs/deploy.md): Redis runs self-managed on the database host.
  name                    = "${var.name}/redis"
  description             = "Redis requirepass."
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id                = aws_secretsmanager_secret.redis.id
  secret_string_wo         = var.redis_password
  secret_string_wo_version = var.password_version
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:Wallet keys and bot tokens are rotated by their issuers (BotFather, Discord developer portal, a new wallet); docs/deploy.md gives the steps.
  for_each = local.app_secrets

  name                    = "${var.name}/${lower(replace(each.key, "_", "-"))}"
  description             = each.value
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = merge(var.tags, { EnvironmentVariable = each.key })
}
