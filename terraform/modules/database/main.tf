# TimescaleDB (and the shared Redis) in Docker on one Graviton EC2 host in a
# private subnet. Data lives on a separate encrypted gp3 EBS volume that survives
# instance replacement and is what AWS Backup snapshots. user_data installs
# Docker, mounts the volume (formatting it only when blank), reads the passwords
# from Secrets Manager and starts both containers under systemd.

data "aws_region" "current" {}

data "aws_subnet" "this" {
  id = var.subnet_id
}

data "aws_ssm_parameter" "al2023_arm64" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "TimescaleDB 5432 and Redis 6379 from the service only; SSH from the bastion only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-database" })
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  count = length(var.client_security_group_ids)

  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the service"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.client_security_group_ids[count.index]
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  count = length(var.client_security_group_ids)

  security_group_id            = aws_security_group.database.id
  description                  = "Redis from the service"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.client_security_group_ids[count.index]
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  #checkov:skip=CKV_AWS_24:The source is the bastion's security group, not a CIDR block: nothing from 0.0.0.0/0 reaches port 22.
  count = var.enable_ssh_from_bastion ? 1 : 0

  security_group_id            = aws_security_group.database.id
  description                  = "SSH from the bastion"
  ip_protocol                  = "tcp"
  from_port                    = 22
  to_port                      = 22
  referenced_security_group_id = var.bastion_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.database.id
  description       = "HTTPS: image pulls, OS packages, AWS APIs (through the NAT gateway)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_ebs_volume" "data" {
  #checkov:skip=CKV2_AWS_9:The backup module selects this volume by ARN (environments/prod: module.backup.resource_arns); checkov does not follow module outputs.
  availability_zone = data.aws_subnet.this.availability_zone
  type              = "gp3"
  size              = var.volume_size
  iops              = var.volume_iops
  throughput        = var.volume_throughput
  encrypted         = true
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = "${var.name}-timescaledb-data", Backup = "daily" })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_instance" "database" {
  ami                    = data.aws_ssm_parameter.al2023_arm64.value
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.database.id]
  key_name               = var.ssh_key_name
  iam_instance_profile   = var.instance_profile_name
  monitoring             = true
  ebs_optimized          = true

  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    region              = data.aws_region.current.name
    volume_id           = aws_ebs_volume.data.id
    mount_path          = var.data_mount_path
    database_secret_arn = var.database_secret_arn
    redis_secret_arn    = var.redis_secret_arn
    db_name             = var.db_name
    timescaledb_image   = var.timescaledb_image
    redis_image         = var.redis_image
    redis_maxmemory     = var.redis_maxmemory
    log_group_name      = var.log_group_name
  })

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 20
    encrypted   = true
  }

  lifecycle {
    # A new AMI release must not replace the database host; patch it in place.
    ignore_changes = [ami]
  }

  tags = merge(var.tags, { Name = "${var.name}-timescaledb", Role = "database" })
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.database.id
  # Stop the instance (clean PostgreSQL shutdown) before detaching on replacement.
  stop_instance_before_detaching = true
}
