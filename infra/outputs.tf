output "table_name" {
  description = "Name of the single table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the single table."
  value       = aws_dynamodb_table.this.arn
}

output "table_stream_arn" {
  description = "ARN of the table's stream (NEW_AND_OLD_IMAGES)."
  value       = aws_dynamodb_table.this.stream_arn
}

output "topic_arn" {
  description = "ARN of the alerts topic; `meli-radar subscribe` takes it as MELI_SNS_TOPIC_ARN."
  value       = aws_sns_topic.this.arn
}

output "function_names" {
  description = "Names of the three functions, by crate."
  value = {
    fetcher      = aws_lambda_function.fetcher.function_name
    trend-scorer = aws_lambda_function.trend_scorer.function_name
    notifier     = aws_lambda_function.notifier.function_name
  }
}

output "function_arns" {
  description = "ARNs of the three functions, by crate."
  value = {
    fetcher      = aws_lambda_function.fetcher.arn
    trend-scorer = aws_lambda_function.trend_scorer.arn
    notifier     = aws_lambda_function.notifier.arn
  }
}

output "secret_arns" {
  description = "ARNs of the secrets to fill in (docs/deploy.md): app credentials, OAuth token, Slack webhooks (null with enable_slack = false)."
  value = {
    app   = aws_secretsmanager_secret.app.arn
    token = aws_secretsmanager_secret.token.arn
    slack = var.enable_slack ? aws_secretsmanager_secret.slack[0].arn : null
  }
}

output "dlq_url" {
  description = "URL of the queue that holds failed stream batches and failed scheduled invocations."
  value       = aws_sqs_queue.dlq.url
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key that encrypts the table, topic, queue, secrets and logs."
  value       = aws_kms_key.this.arn
}

output "egress_ip" {
  description = "The fetcher's public address to give Mercado Libre for allow-listing (static_egress_ip = true), or null."
  value       = var.static_egress_ip ? aws_eip.nat[0].public_ip : null
}

################################################################################
# The HTML reports (create_reports = true; infra/reports.tf, docs/report.md).
################################################################################

output "reports_bucket" {
  description = "The private S3 bucket of the digest's HTML reports, or null."
  value       = var.create_reports ? aws_s3_bucket.reports[0].id : null
}

output "reports_prefix" {
  description = "Key prefix of the reports in the bucket (<prefix>/<site>/<YYYY-MM-DD>/<category>.html), or null."
  value       = var.create_reports ? local.reports_prefix : null
}
