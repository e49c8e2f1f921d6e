# The Lighthouse image from ECR on Graviton instances in private subnets, one
# Auto Scaling group per role: "backend" runs `lighthouse run` (API, bots,
# scheduler, delivery), "worker" runs `lighthouse worker`. Both roles share work
# through PostgreSQL row claims, so either group can be resized at will.
# An optional internet-facing ALB forwards to 8080; without it nothing reaches 8080.

data "aws_region" "current" {}

data "aws_ssm_parameter" "al2023_arm64" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

locals {
  region   = data.aws_region.current.name
  registry = split("/", aws_ecr_repository.this.repository_url)[0]
  image    = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"

  roles = {
    backend = { command = "run", count = var.backend_instance_count, behind_alb = true }
    worker  = { command = "worker", count = var.worker_instance_count, behind_alb = false }
  }
  active_roles = { for role, cfg in local.roles : role => cfg if cfg.count > 0 }
  asg_names    = { for role, cfg in local.active_roles : role => "${var.name}-${role}" }
}

# ------------------------------------------------------------------- registry

resource "aws_ecr_repository" "this" {
  name                 = "${var.name}/lighthouse"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 30 most recent images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
      action       = { type = "expire" }
    }]
  })
}

# ------------------------------------------------------------ security groups

resource "aws_security_group" "service" {
  name        = "${var.name}-service"
  description = "Lighthouse instances: 8080 from the ALB only, SSH from the bastion only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-service" })
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  count = var.enable_load_balancer ? 1 : 0

  security_group_id            = aws_security_group.service.id
  description                  = "API from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = aws_security_group.alb[0].id
}

resource "aws_vpc_security_group_ingress_rule" "ssh_from_bastion" {
  #checkov:skip=CKV_AWS_24:The source is the bastion's security group, not a CIDR block: nothing from 0.0.0.0/0 reaches port 22.
  count = var.enable_ssh_from_bastion ? 1 : 0

  security_group_id            = aws_security_group.service.id
  description                  = "SSH from the bastion"
  ip_protocol                  = "tcp"
  from_port                    = 22
  to_port                      = 22
  referenced_security_group_id = var.bastion_security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "metrics" {
  count = length(var.metrics_cidrs)

  security_group_id = aws_security_group.service.id
  description       = "Prometheus scrape"
  ip_protocol       = "tcp"
  from_port         = 9090
  to_port           = 9090
  cidr_ipv4         = var.metrics_cidrs[count.index]
}

resource "aws_vpc_security_group_egress_rule" "all" {
  #checkov:skip=CKV_AWS_382:A monitoring service must reach arbitrary customer targets (HTTP on any port, TCP, DNS, RPC), plus the database and AWS APIs.
  security_group_id = aws_security_group.service.id
  description       = "Checks reach any target on the internet; database, Redis, AWS APIs"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "alb" {
  count = var.enable_load_balancer ? 1 : 0

  name        = "${var.name}-alb"
  description = "Public load balancer: HTTP/HTTPS in, 8080 to the service only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  count = var.enable_load_balancer ? length(var.alb_ingress_cidrs) : 0

  security_group_id = aws_security_group.alb[0].id
  description       = "HTTPS from clients"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.alb_ingress_cidrs[count.index]
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:Port 80 only redirects to HTTPS when a certificate is set; without one it is the documented testing mode.
  count = var.enable_load_balancer ? length(var.alb_ingress_cidrs) : 0

  security_group_id = aws_security_group.alb[0].id
  description       = "HTTP from clients (redirected to HTTPS when a certificate is set)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = var.alb_ingress_cidrs[count.index]
}

resource "aws_vpc_security_group_egress_rule" "alb_to_service" {
  count = var.enable_load_balancer ? 1 : 0

  security_group_id            = aws_security_group.alb[0].id
  description                  = "To the API on the instances"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = aws_security_group.service.id
}

# -------------------------------------------------------------- load balancer

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs need an S3 bucket with its own policy; request metrics and target health are in CloudWatch. Enable when required.
  #checkov:skip=CKV2_AWS_20:The port 80 listener redirects to HTTPS whenever certificate_arn is set (aws_lb_listener.http).
  #checkov:skip=CKV2_AWS_28:WAF is priced per rule and request; the API does its own rate limiting (Redis buckets) and payment checks.
  count = var.enable_load_balancer ? 1 : 0

  name                       = substr("${var.name}-alb", 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb[0].id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection

  tags = var.tags
}

resource "aws_lb_target_group" "api" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; the hop to 8080 stays inside the VPC, limited by security groups to the ALB.
  count = var.enable_load_balancer ? 1 : 0

  name                 = substr("${var.name}-api", 0, 32)
  port                 = 8080
  protocol             = "HTTP"
  vpc_id               = var.vpc_id
  target_type          = "instance"
  deregistration_delay = 30

  health_check {
    path                = "/health"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count = var.enable_load_balancer && var.certificate_arn != "" ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api[0].arn
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:With a certificate this listener only redirects to HTTPS; without one it forwards plain HTTP (testing mode, documented).
  #checkov:skip=CKV_AWS_103:TLS is set on the HTTPS listener; this one is plain HTTP by design.
  #checkov:skip=CKV2_AWS_20:Redirects to HTTPS whenever certificate_arn is set.
  count = var.enable_load_balancer ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"

  dynamic "default_action" {
    for_each = var.certificate_arn != "" ? [1] : []

    content {
      type = "redirect"

      redirect {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  dynamic "default_action" {
    for_each = var.certificate_arn == "" ? [1] : []

    content {
      type             = "forward"
      target_group_arn = aws_lb_target_group.api[0].arn
    }
  }
}

# ------------------------------------------------------ instances, per role

resource "aws_launch_template" "role" {
  for_each = local.active_roles

  name_prefix            = "${var.name}-${each.key}-"
  image_id               = data.aws_ssm_parameter.al2023_arm64.value
  instance_type          = var.instance_type
  key_name               = var.ssh_key_name
  vpc_security_group_ids = [aws_security_group.service.id]
  update_default_version = true
  ebs_optimized          = true

  iam_instance_profile {
    name = var.instance_profile_name
  }

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # 1 hop: containers cannot reach the instance role's credentials.
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_type           = "gp3"
      volume_size           = 30
      encrypted             = true
      delete_on_termination = true
    }
  }

  user_data = base64encode(templatefile("${path.module}/user_data.sh.tftpl", {
    region                  = local.region
    registry                = local.registry
    image                   = local.image
    command                 = each.value.command
    publish_api             = each.value.behind_alb
    asg_name                = local.asg_names[each.key]
    database_host           = var.database_host
    db_name                 = var.db_name
    database_secret_arn     = var.database_secret_arn
    redis_secret_arn        = var.redis_secret_arn
    app_secret_arns         = var.app_secret_arns
    app_environment         = var.app_environment
    log_group_name          = var.log_group_name
    health_metric_namespace = var.health_metric_namespace
  }))

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-${each.key}", Role = each.key })
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "role" {
  for_each = local.active_roles

  name                      = local.asg_names[each.key]
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = each.value.count
  max_size                  = each.value.count * 2
  desired_capacity          = each.value.count
  health_check_type         = each.value.behind_alb && var.enable_load_balancer ? "ELB" : "EC2"
  health_check_grace_period = 300
  target_group_arns         = each.value.behind_alb && var.enable_load_balancer ? [aws_lb_target_group.api[0].arn] : []

  launch_template {
    id      = aws_launch_template.role[each.key].id
    version = aws_launch_template.role[each.key].latest_version
  }

  # A new image_tag makes a new launch template version; the group then replaces
  # its instances, launching each new one before terminating an old one (so a
  # single-instance group keeps serving during the roll).
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 100
      max_healthy_percentage = 200
      instance_warmup        = 300
    }
  }

  tag {
    key                 = "Role"
    value               = each.key
    propagate_at_launch = true
  }
}
