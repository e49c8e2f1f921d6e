# A small SSH jump host in a public subnet: port 22 from allowed_ssh_cidrs only,
# and it may connect onward only over SSH inside the VPC (plus HTTPS for updates).

data "aws_ssm_parameter" "al2023_arm64" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

resource "aws_security_group" "bastion" {
  name        = "${var.name}-bastion"
  description = "SSH jump host: 22 from allowed CIDRs only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-bastion" })
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  count = length(var.allowed_ssh_cidrs)

  security_group_id = aws_security_group.bastion.id
  description       = "SSH from an allowed network"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = var.allowed_ssh_cidrs[count.index]
}

resource "aws_vpc_security_group_egress_rule" "ssh_vpc" {
  security_group_id = aws_security_group.bastion.id
  description       = "SSH onward to hosts in the VPC"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.bastion.id
  description       = "HTTPS for OS updates and Session Manager"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_instance" "bastion" {
  #checkov:skip=CKV_AWS_88:A bastion needs a public address; ingress is limited to allowed_ssh_cidrs.
  ami                         = data.aws_ssm_parameter.al2023_arm64.value
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.bastion.id]
  key_name                    = var.ssh_key_name
  iam_instance_profile        = var.instance_profile_name
  associate_public_ip_address = true
  monitoring                  = true
  ebs_optimized               = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 8
    encrypted   = true
  }

  lifecycle {
    ignore_changes = [ami]
  }

  tags = merge(var.tags, { Name = "${var.name}-bastion", Role = "bastion" })
}
