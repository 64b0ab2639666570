# A complete deployment: `make package` first (the zips), then from this directory
#   terraform init && terraform apply -var 'categories=["MLB1055","MLA1055"]'
# See docs/deploy.md for the secrets and the first alert.

provider "aws" {
  region = var.region
}

module "meli_radar" {
  source = "../.."

  name             = var.name
  categories       = var.categories
  refresh_every    = "1h"
  fetch_schedule   = "rate(15 minutes)"
  static_egress_ip = var.static_egress_ip
  alarm_actions    = [aws_sns_topic.ops.arn]
  tags             = { "environment" = "production" }
}

# Alarms go to the operator, not to the sellers' alerts topic.
resource "aws_sns_topic" "ops" {
  name              = "${var.name}-ops"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "ops_email" {
  count     = var.ops_email == null ? 0 : 1
  topic_arn = aws_sns_topic.ops.arn
  protocol  = "email"
  endpoint  = var.ops_email
}
