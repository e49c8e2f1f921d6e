# Least-privilege instance roles: each host may read only its own secrets, write
# only its own log group and metric namespaces, and (service) pull only its image.
# Every role gets AmazonSSMManagedInstanceCore so Session Manager works as an
# alternative to SSH through the bastion.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition

  database_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${var.database_log_group_name}"
  service_log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${var.service_log_group_name}"
  ssm_core_policy_arn    = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# ---------------------------------------------------------------- database host

data "aws_iam_policy_document" "database" {
  #checkov:skip=CKV_AWS_356:cloudwatch:PutMetricData and ec2:DescribeTags have no resource-level permissions; the namespace condition limits the former.
  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = var.database_secret_arns
  }

  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [local.database_log_group_arn, "${local.database_log_group_arn}:*"]
  }

  statement {
    sid       = "PublishMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = var.metric_namespaces
    }
  }

  statement {
    sid       = "AgentDimensions"
    actions   = ["ec2:DescribeTags"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "database" {
  name               = "${var.name}-database"
  description        = "TimescaleDB/Redis host: reads its passwords, writes its logs and metrics."
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "database" {
  name   = "database-host"
  role   = aws_iam_role.database.id
  policy = data.aws_iam_policy_document.database.json
}

resource "aws_iam_role_policy_attachment" "database_ssm" {
  role       = aws_iam_role.database.name
  policy_arn = local.ssm_core_policy_arn
}

resource "aws_iam_instance_profile" "database" {
  name = "${var.name}-database"
  role = aws_iam_role.database.name

  tags = var.tags
}

# ----------------------------------------------------------- service instances

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = var.service_secret_arns
  }

  statement {
    sid       = "DecryptSecretsAndImages"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "secretsmanager.${local.region}.amazonaws.com",
        "ecr.${local.region}.amazonaws.com",
      ]
    }
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []

    content {
      sid       = "PullOwnImage"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      resources = var.ecr_repository_arns
    }
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [local.service_log_group_arn, "${local.service_log_group_arn}:*"]
  }

  statement {
    sid       = "PublishMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = var.metric_namespaces
    }
  }

  statement {
    sid       = "AgentDimensions"
    actions   = ["ec2:DescribeTags"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "service" {
  name               = "${var.name}-service"
  description        = "Lighthouse API/worker hosts: pull the image, read app secrets, write logs and metrics."
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "service" {
  name   = "service-host"
  role   = aws_iam_role.service.id
  policy = data.aws_iam_policy_document.service.json
}

resource "aws_iam_role_policy_attachment" "service_ssm" {
  role       = aws_iam_role.service.name
  policy_arn = local.ssm_core_policy_arn
}

resource "aws_iam_instance_profile" "service" {
  name = "${var.name}-service"
  role = aws_iam_role.service.name

  tags = var.tags
}

# ---------------------------------------------------------------------- bastion

resource "aws_iam_role" "bastion" {
  name               = "${var.name}-bastion"
  description        = "Bastion: Session Manager only, no data access."
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "bastion_ssm" {
  role       = aws_iam_role.bastion.name
  policy_arn = local.ssm_core_policy_arn
}

resource "aws_iam_instance_profile" "bastion" {
  name = "${var.name}-bastion"
  role = aws_iam_role.bastion.name

  tags = var.tags
}
