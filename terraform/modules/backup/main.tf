# AWS Backup: one vault, a daily plan with retention_days of recovery points, and
# a selection holding the TimescaleDB data volume. EBS snapshots of a running
# PostgreSQL are crash-consistent: PostgreSQL replays its WAL on restore.
# Optional: copy every recovery point to a second vault in another region (aws.dr).

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

data "aws_partition" "current" {}

resource "aws_backup_vault" "this" {
  name        = "${var.name}-vault"
  kms_key_arn = var.kms_key_arn

  tags = var.tags
}

resource "aws_backup_vault" "dr" {
  count    = var.enable_cross_region_backup ? 1 : 0
  provider = aws.dr

  # The vault in the DR region uses that region's AWS-managed backup key.
  #checkov:skip=CKV_AWS_166:A customer-managed key would have to be created in the DR region too; the AWS-managed key still encrypts the copies.
  name = "${var.name}-vault-dr"

  tags = var.tags
}

resource "aws_backup_plan" "daily" {
  name = "${var.name}-daily"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.this.name
    schedule          = var.schedule
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.retention_days
    }

    dynamic "copy_action" {
      for_each = var.enable_cross_region_backup ? [1] : []

      content {
        destination_vault_arn = aws_backup_vault.dr[0].arn

        lifecycle {
          delete_after = var.retention_days
        }
      }
    }
  }

  tags = var.tags
}

resource "aws_iam_role" "backup" {
  name               = "${var.name}-backup"
  description        = "AWS Backup: snapshot and restore the Lighthouse data volume."
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "backup" {
  role       = aws_iam_role.backup.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
}

resource "aws_iam_role_policy_attachment" "restore" {
  role       = aws_iam_role.backup.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
}

resource "aws_backup_selection" "data" {
  name         = "${var.name}-data"
  plan_id      = aws_backup_plan.daily.id
  iam_role_arn = aws_iam_role.backup.arn
  resources    = var.resource_arns
}
