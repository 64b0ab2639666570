# The HTML reports (docs/report.md), behind var.create_reports: a private bucket, encrypted with the
# module's KMS key, that the notifier's digest writes each category's report into
# (s3://<bucket>/reports/<site>/<YYYY-MM-DD>/<category>.html, meli_report::publish::report_key).
# Digest messages link to a report with a presigned GET URL, so the bucket stays private: no public
# access, no bucket policy that opens it, TLS only.
#
# The variables are in variables.tf and the outputs in outputs.tf, each in a block marked "reports".

locals {
  reports_enabled = var.create_reports ? 1 : 0
  reports_bucket  = "${var.name}-reports-${local.account}-${local.region}"
  # meli_report::publish::REPORTS_PREFIX (the infra tests check they agree).
  reports_prefix = "reports"

  # The notifier's report variables (crates/notifier/src/lib.rs, REPORT_VARIABLES), part of
  # local.notifier_environment; an empty bucket turns the reports off (the digest is as before).
  notifier_reports_environment = {
    MELI_REPORTS_BUCKET           = var.create_reports ? aws_s3_bucket.reports[0].id : ""
    MELI_REPORTS_KMS_KEY_ARN      = var.create_reports ? aws_kms_key.this.arn : ""
    MELI_REPORT_LINK_EXPIRY_HOURS = tostring(var.report_link_expiry_hours)
    MELI_REPORT_DAYS              = tostring(var.report_days)
  }
}

resource "aws_s3_bucket" "reports" {
  #checkov:skip=CKV_AWS_144:Reports are derived from the table and rewritten by the next digest: no cross-region copy.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new reports: the digest links to them itself.
  #checkov:skip=CKV_AWS_18:Access logging would need a second bucket; writes come only from the notifier role (CloudTrail) and reads through presigned URLs that the digest made.
  count         = local.reports_enabled
  bucket        = local.reports_bucket
  force_destroy = false
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "reports" {
  count                   = local.reports_enabled
  bucket                  = aws_s3_bucket.reports[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "reports" {
  count  = local.reports_enabled
  bucket = aws_s3_bucket.reports[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "reports" {
  count  = local.reports_enabled
  bucket = aws_s3_bucket.reports[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  count  = local.reports_enabled
  bucket = aws_s3_bucket.reports[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "reports" {
  count  = local.reports_enabled
  bucket = aws_s3_bucket.reports[0].id

  rule {
    id     = "expire-reports"
    status = "Enabled"
    filter {
      prefix = "${local.reports_prefix}/"
    }
    expiration {
      days = var.report_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

# TLS only: a presigned URL over plain HTTP is refused.
data "aws_iam_policy_document" "reports_bucket" {
  count = local.reports_enabled
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:GetObject", "s3:PutObject"]
    resources = [
      aws_s3_bucket.reports[0].arn,
      "${aws_s3_bucket.reports[0].arn}/*",
    ]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "reports" {
  count  = local.reports_enabled
  bucket = aws_s3_bucket.reports[0].id
  policy = data.aws_iam_policy_document.reports_bucket[0].json
}

# The notifier writes the reports and signs GET URLs for them (a presigned URL carries the signer's
# permissions, so the role needs s3:GetObject on the reports, and kms:Decrypt to serve them).
data "aws_iam_policy_document" "notifier_reports" {
  count = local.reports_enabled
  statement {
    sid       = "Reports"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${aws_s3_bucket.reports[0].arn}/${local.reports_prefix}/*"]
  }
  statement {
    sid       = "ReportsKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "notifier_reports" {
  count  = local.reports_enabled
  name   = "reports"
  role   = aws_iam_role.notifier.id
  policy = data.aws_iam_policy_document.notifier_reports[0].json
}
