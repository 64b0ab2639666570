# The Spark job on EMR Serverless (spark/README.md), behind var.create_spark_job: a bucket for the
# table's exports, the job's code and its outputs; the Spark application; the job's runtime role.
#
# The flow: DynamoDB exports the table to s3://<bucket>/exports/ (point-in-time recovery is on, see the
# table), then a job run reads the export and writes Parquet to s3://<bucket>/output/ and the
# calibration items to s3://<bucket>/output/calibration/items.json (imported into the table by the
# operator, see spark/README.md). The commands are in the outputs spark_export_command and
# spark_start_job_run_command. This file also holds the Spark variables and outputs, so the whole
# feature is one file.

locals {
  spark_enabled = var.create_spark_job ? 1 : 0
  spark_bucket  = "${var.name}-spark-${local.account}-${local.region}"
  spark_code    = "code"
  spark_exports = "exports"
  spark_output  = "output"
  spark_logs    = "logs"
  spark_package = coalesce(var.spark_package_path, "${path.module}/../target/spark/meli_radar_spark.zip")
}

resource "aws_s3_bucket" "spark" {
  #checkov:skip=CKV_AWS_144:Exports and job outputs are derived data (the table is the source of truth, with point-in-time recovery): no cross-region copy.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new objects: job runs are started explicitly after an export completes.
  #checkov:skip=CKV_AWS_18:Access logging would need a second bucket; reads and writes come only from the job role and the table export, both in CloudTrail.
  count         = local.spark_enabled
  bucket        = local.spark_bucket
  force_destroy = false
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "spark" {
  count                   = local.spark_enabled
  bucket                  = aws_s3_bucket.spark[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "spark" {
  count  = local.spark_enabled
  bucket = aws_s3_bucket.spark[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "spark" {
  count  = local.spark_enabled
  bucket = aws_s3_bucket.spark[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "spark" {
  count  = local.spark_enabled
  bucket = aws_s3_bucket.spark[0].id

  rule {
    id     = "expire-exports"
    status = "Enabled"
    filter {
      prefix = "${local.spark_exports}/"
    }
    expiration {
      days = var.spark_export_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }

  rule {
    id     = "old-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

# The job's code: the entry point and the package (`make spark-package` builds the zip).
resource "aws_s3_object" "spark_main" {
  count      = local.spark_enabled
  bucket     = aws_s3_bucket.spark[0].id
  key        = "${local.spark_code}/main.py"
  source     = "${path.module}/../spark/main.py"
  etag       = filemd5("${path.module}/../spark/main.py")
  kms_key_id = aws_kms_key.this.arn
  tags       = local.tags
}

resource "aws_s3_object" "spark_package" {
  count      = local.spark_enabled
  bucket     = aws_s3_bucket.spark[0].id
  key        = "${local.spark_code}/meli_radar_spark.zip"
  source     = local.spark_package
  kms_key_id = aws_kms_key.this.arn
  tags       = local.tags
}

resource "aws_emrserverless_application" "spark" {
  count         = local.spark_enabled
  name          = "${var.name}-spark"
  release_label = var.spark_release_label
  type          = "spark"
  architecture  = upper(var.spark_architecture)

  maximum_capacity {
    cpu    = "${var.spark_max_vcpu} vCPU"
    memory = "${var.spark_max_vcpu * 4} GB"
  }

  auto_start_configuration {
    enabled = true
  }

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = 15
  }

  tags = local.tags
}

data "aws_iam_policy_document" "spark_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "spark" {
  count              = local.spark_enabled
  name               = "${var.name}-spark-job"
  assume_role_policy = data.aws_iam_policy_document.spark_assume.json
  tags               = local.tags
}

# The job reads the code and the exports, writes its outputs and logs; nothing else.
data "aws_iam_policy_document" "spark" {
  count = local.spark_enabled

  statement {
    sid       = "ListTheBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.spark[0].arn]
  }

  statement {
    sid     = "ReadCodeAndExports"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.spark[0].arn}/${local.spark_code}/*",
      "${aws_s3_bucket.spark[0].arn}/${local.spark_exports}/*",
      "${aws_s3_bucket.spark[0].arn}/${local.spark_output}/*",
    ]
  }

  statement {
    sid     = "WriteOutputsAndLogs"
    actions = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [
      "${aws_s3_bucket.spark[0].arn}/${local.spark_output}/*",
      "${aws_s3_bucket.spark[0].arn}/${local.spark_logs}/*",
    ]
  }

  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "spark" {
  count  = local.spark_enabled
  name   = "${var.name}-spark-job"
  role   = aws_iam_role.spark[0].id
  policy = data.aws_iam_policy_document.spark[0].json
}

################################################################################
# The Spark job on EMR Serverless (infra/spark.tf, spark/README.md).
################################################################################

variable "create_spark_job" {
  description = "Create the Spark job's EMR Serverless application, its runtime role and its S3 bucket (exports, code, outputs)."
  type        = bool
  default     = false
}

variable "spark_release_label" {
  description = "EMR release of the Spark application (Spark 3.5 or later; the job uses only the DataFrame API)."
  type        = string
  default     = "emr-7.5.0"
}

variable "spark_architecture" {
  description = "CPU architecture of the Spark workers: x86_64 or arm64 (the job is pure Python and JVM, so either works)."
  type        = string
  default     = "x86_64"
}

variable "spark_max_vcpu" {
  description = "Most vCPUs the application may use at once (memory is 4 GB per vCPU); bounds the cost of a run."
  type        = number
  default     = 16
}

variable "spark_export_retention_days" {
  description = "Days a table export is kept in the bucket before it expires."
  type        = number
  default     = 14
}

variable "spark_package_path" {
  description = "The job's package zip (`make spark-package`); target/spark/meli_radar_spark.zip at the repository root when null."
  type        = string
  default     = null
}

################################################################################
# The Spark job (create_spark_job = true; infra/spark.tf, spark/README.md).
################################################################################

output "spark_application_id" {
  description = "EMR Serverless application of the Spark job, or null."
  value       = var.create_spark_job ? aws_emrserverless_application.spark[0].id : null
}

output "spark_job_role_arn" {
  description = "Runtime role of the Spark job runs, or null."
  value       = var.create_spark_job ? aws_iam_role.spark[0].arn : null
}

output "spark_bucket" {
  description = "Bucket of the table exports (exports/), the job's code (code/), outputs (output/) and logs (logs/), or null."
  value       = var.create_spark_job ? aws_s3_bucket.spark[0].id : null
}

output "spark_export_command" {
  description = "Exports the table to the Spark bucket (DynamoDB JSON), or null."
  value       = var.create_spark_job ? "aws dynamodb export-table-to-point-in-time --table-arn ${aws_dynamodb_table.this.arn} --s3-bucket ${aws_s3_bucket.spark[0].id} --s3-prefix ${local.spark_exports}/ --s3-sse-algorithm KMS --s3-sse-kms-key-id ${aws_kms_key.this.arn} --export-format DYNAMODB_JSON" : null
}

output "spark_start_job_run_command" {
  description = "Starts a job run over the exports (replace RUN_DATE), or null."
  value       = var.create_spark_job ? "aws emr-serverless start-job-run --application-id ${aws_emrserverless_application.spark[0].id} --execution-role-arn ${aws_iam_role.spark[0].arn} --job-driver '{\"sparkSubmit\":{\"entryPoint\":\"s3://${aws_s3_bucket.spark[0].id}/${local.spark_code}/main.py\",\"entryPointArguments\":[\"--input\",\"s3://${aws_s3_bucket.spark[0].id}/${local.spark_exports}/\",\"--out\",\"s3://${aws_s3_bucket.spark[0].id}/${local.spark_output}\",\"--run-date\",\"RUN_DATE\"],\"sparkSubmitParameters\":\"--py-files s3://${aws_s3_bucket.spark[0].id}/${local.spark_code}/meli_radar_spark.zip --conf spark.sql.shuffle.partitions=64\"}}' --configuration-overrides '{\"monitoringConfiguration\":{\"s3MonitoringConfiguration\":{\"logUri\":\"s3://${aws_s3_bucket.spark[0].id}/${local.spark_logs}/\",\"encryptionKeyArn\":\"${aws_kms_key.this.arn}\"}}}'" : null
}
