terraform {
  # 1.11: write-only arguments (secret_string_wo) keep the passwords out of the state.
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }

  # Keep the state in an encrypted, versioned S3 bucket with locking. Create the
  # bucket once, then: terraform init -backend-config=backend.hcl (docs/deploy.md).
  # backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# Region that receives backup copies when enable_cross_region_backup = true.
provider "aws" {
  alias  = "dr"
  region = var.dr_region

  default_tags {
    tags = local.tags
  }
}
