# meli-radar on AWS: the single table and its stream, the three functions, their schedules and stream
# mappings, the alerts topic, the secrets, least-privilege roles, alarms and an optional static egress IP.
# The wiring is checked against the Rust code by infra/tests/test_infra.py (keys, filters, variables).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  zip_dir   = coalesce(var.lambda_zip_dir, "${path.module}/../target/lambda")
  tags      = merge({ "app" = "meli-radar" }, var.tags)

  # Function names; each is built from the crate of the same name (crates/<name>, binary <name>).
  functions = {
    fetcher      = "${var.name}-fetcher"
    trend_scorer = "${var.name}-trend-scorer"
    notifier     = "${var.name}-notifier"
  }
  zips = {
    fetcher      = "${local.zip_dir}/fetcher/bootstrap.zip"
    trend_scorer = "${local.zip_dir}/trend-scorer/bootstrap.zip"
    notifier     = "${local.zip_dir}/notifier/bootstrap.zip"
  }

  # The stream filters: snapshot inserts go to the trend-scorer, event inserts to the notifier. The
  # prefixes are meli_core::keys (SNAP_PREFIX, event_pk); the infra tests check they still match.
  snapshot_insert_filter = jsonencode({
    eventName = ["INSERT"]
    dynamodb  = { Keys = { sk = { S = [{ prefix = "SNAP#" }] } } }
  })
  event_insert_filter = jsonencode({
    eventName = ["INSERT"]
    dynamodb  = { Keys = { pk = { S = [{ prefix = "EVT#" }] } } }
  })

  # The environment of each function: exactly what its crate's Config::from_env reads.
  fetcher_environment = {
    MELI_TABLE_NAME        = aws_dynamodb_table.this.name
    MELI_CATEGORIES        = join(",", var.categories)
    MELI_APP_SECRET_ID     = aws_secretsmanager_secret.app.arn
    MELI_TOKEN_SECRET_ID   = aws_secretsmanager_secret.token.arn
    MELI_API_BASE_URL      = var.api_base_url
    MELI_REFRESH_EVERY     = var.refresh_every
    MELI_FETCH_CONCURRENCY = tostring(var.fetch_concurrency)
    MELI_RETENTION_DAYS    = tostring(var.retention_days)
    MELI_RATE_LIMIT_RPS    = tostring(var.rate_limit_rps)
  }
  trend_scorer_environment = {
    MELI_TABLE_NAME     = aws_dynamodb_table.this.name
    MELI_STATE_CACHE_MB = tostring(var.scorer_state_cache_mb)
  }
  notifier_environment = {
    MELI_TABLE_NAME               = aws_dynamodb_table.this.name
    MELI_SNS_TOPIC_ARN            = aws_sns_topic.this.arn
    MELI_SLACK_SECRET_ID          = var.enable_slack ? aws_secretsmanager_secret.slack[0].arn : "" # "" = no Slack
    MELI_SNS_CONTROLS             = jsonencode(var.sns_controls)
    MELI_REPORTS_BUCKET           = local.notifier_reports_environment.MELI_REPORTS_BUCKET # "" without create_reports
    MELI_REPORTS_KMS_KEY_ARN      = local.notifier_reports_environment.MELI_REPORTS_KMS_KEY_ARN
    MELI_REPORT_LINK_EXPIRY_HOURS = local.notifier_reports_environment.MELI_REPORT_LINK_EXPIRY_HOURS
    MELI_REPORT_DAYS              = local.notifier_reports_environment.MELI_REPORT_DAYS
  }

  egress_az = coalesce(var.egress_availability_zone, "${local.region}a")

  lambda_log_arns = { for k, v in local.functions : k => "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${v}:*" }
}

################################################################################
# Encryption: one customer-managed key for the table, topic, queues, secrets, logs and Lambda env.
################################################################################

resource "aws_kms_key" "this" {
  description             = "${var.name}: table, topic, queues, secrets, logs and function environment"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:This is a KMS key policy: "*" is the key itself and the account root administers it through IAM (the AWS default key policy).
  #checkov:skip=CKV_AWS_111:This is a KMS key policy: "*" is the key itself; services are limited to this account by aws:SourceAccount and logs by encryption context.
  #checkov:skip=CKV_AWS_356:This is a KMS key policy, where the only valid resource is "*" (the key the policy is attached to).
  # The account administers the key through IAM (the AWS default key policy).
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  # SNS (encrypted topic), EventBridge Scheduler (DLQ) and CloudWatch (alarms) write through the key.
  statement {
    sid       = "ServicesUseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com", "scheduler.amazonaws.com", "cloudwatch.amazonaws.com", "lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }

  # CloudWatch Logs encrypts the functions' log groups (and the VPC flow logs).
  statement {
    sid       = "LogsUseTheKey"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*"]
    }
  }
}

################################################################################
# The single table (DESIGN §4) and its stream.
################################################################################

resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  # No secondary index: every read is by key (an index with ALL projection doubled the write units
  # of every event item and was never queried; docs/decisions.md).

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = local.tags
}

################################################################################
# Queues: failed stream batches and failed scheduled invocations land here (alarmed).
################################################################################

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum
  kms_master_key_id         = aws_kms_key.this.arn
  tags                      = local.tags
}

################################################################################
# The alerts topic (KMS) and who may publish to it.
################################################################################

resource "aws_sns_topic" "this" {
  name              = "${var.name}-alerts"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "NotifierPublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.notifier.arn]
    }
  }

  statement {
    sid       = "AccountManagesSubscriptions"
    actions   = ["sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:GetTopicAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish", "sns:Subscribe"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

################################################################################
# Secrets: values are put by the operator (docs/deploy.md), never by Terraform, so they never reach
# the state file. The token secret is rewritten by the fetcher itself (compare-and-swap on versions).
################################################################################

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:The app credentials are rotated in Mercado Libre's DevCenter, not by a rotation Lambda; docs/deploy.md says how to update the value.
  name        = "${var.name}/app"
  description = "Mercado Libre app credentials: {\"client_id\", \"client_secret\", \"grant\"}"
  kms_key_id  = aws_kms_key.this.arn
  tags        = local.tags
}

resource "aws_secretsmanager_secret" "token" {
  #checkov:skip=CKV2_AWS_57:The fetcher rotates this OAuth token itself every ~6 h (refresh with compare-and-swap on secret versions); a rotation Lambda would race it.
  name        = "${var.name}/token"
  description = "Mercado Libre OAuth token, written by the fetcher (versioned compare-and-swap)"
  kms_key_id  = aws_kms_key.this.arn
  tags        = local.tags
}

resource "aws_secretsmanager_secret" "slack" {
  count = var.enable_slack ? 1 : 0
  #checkov:skip=CKV2_AWS_57:Slack incoming-webhook URLs cannot be rotated through an API; they are replaced by hand in Slack and here.
  name        = "${var.name}/slack"
  description = "Slack incoming webhooks of the notifier: [{\"url\": \"https://hooks.slack.com/services/...\", \"name\": \"#channel\"}] or comma-separated URLs (docs/alerts.md); no value or [] = no Slack"
  kms_key_id  = aws_kms_key.this.arn
  tags        = local.tags
}

################################################################################
# Logs.
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each          = local.functions
  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

################################################################################
# IAM: one role per function, inline statements next to what each function does.
################################################################################

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "fetcher" {
  name               = local.functions.fetcher
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role" "trend_scorer" {
  name               = local.functions.trend_scorer
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role" "notifier" {
  name               = local.functions.notifier
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

# fetcher: reads category state and the product cache, writes snapshots, state and products; reads
# the app secret; reads and rewrites the token secret.
data "aws_iam_policy_document" "fetcher" {
  statement {
    sid       = "Table"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.this.arn]
  }
  statement {
    sid       = "AppCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.app.arn]
  }
  statement {
    sid       = "Token"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    resources = [aws_secretsmanager_secret.token.arn]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.lambda_log_arns.fetcher]
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

# trend-scorer: reads the stream of snapshot inserts, reads history, writes latest, history and
# event items.
data "aws_iam_policy_document" "trend_scorer" {
  statement {
    sid       = "Table"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.this.arn]
  }
  statement {
    sid       = "Stream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [aws_dynamodb_table.this.stream_arn]
  }
  statement {
    sid       = "ListStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"] # ListStreams has no resource-level permission
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.lambda_log_arns.trend_scorer]
  }
  statement {
    sid       = "FailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

# notifier: reads the stream of event inserts, keeps its outbox in the table,
# publishes to the topic, reads the Slack webhooks.
data "aws_iam_policy_document" "notifier" {
  statement {
    sid       = "Table"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.this.arn]
  }
  statement {
    sid       = "Stream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [aws_dynamodb_table.this.stream_arn]
  }
  statement {
    sid       = "ListStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"] # ListStreams has no resource-level permission
  }
  statement {
    sid       = "Publish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
  }
  dynamic "statement" {
    for_each = aws_secretsmanager_secret.slack
    content {
      sid       = "SlackWebhooks"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value.arn]
    }
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.lambda_log_arns.notifier]
  }
  statement {
    sid       = "FailedBatches"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

resource "aws_iam_role_policy" "fetcher" {
  name   = "fetcher"
  role   = aws_iam_role.fetcher.id
  policy = data.aws_iam_policy_document.fetcher.json
}

resource "aws_iam_role_policy" "trend_scorer" {
  name   = "trend-scorer"
  role   = aws_iam_role.trend_scorer.id
  policy = data.aws_iam_policy_document.trend_scorer.json
}

resource "aws_iam_role_policy" "notifier" {
  name   = "notifier"
  role   = aws_iam_role.notifier.id
  policy = data.aws_iam_policy_document.notifier.json
}

resource "aws_iam_role_policy_attachment" "xray" {
  for_each   = var.enable_xray ? { fetcher = aws_iam_role.fetcher.name, trend_scorer = aws_iam_role.trend_scorer.name, notifier = aws_iam_role.notifier.name } : {}
  role       = each.value
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

# In the VPC the fetcher needs to manage its network interfaces (EC2 offers no resource-level
# permission for CreateNetworkInterface: the AWS managed policy is the narrowest there is).
resource "aws_iam_role_policy_attachment" "fetcher_vpc" {
  count      = var.static_egress_ip ? 1 : 0
  role       = aws_iam_role.fetcher.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

################################################################################
# The functions (cargo lambda build --release --output-format zip: crates/<name> → <name>/bootstrap.zip).
################################################################################

resource "aws_lambda_function" "fetcher" {
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the zips built by `make package` do not have; the zips' hashes are pinned by source_code_hash.
  #checkov:skip=CKV_AWS_117:The fetcher runs in a VPC only with static_egress_ip = true (a NAT gateway costs ~US$ 33/month); it reaches only public AWS and Mercado Libre endpoints.
  function_name                  = local.functions.fetcher
  description                    = "Fetches the best-seller lists that are due (EventBridge Scheduler)"
  role                           = aws_iam_role.fetcher.arn
  filename                       = local.zips.fetcher
  source_code_hash               = filebase64sha256(local.zips.fetcher)
  handler                        = "bootstrap"
  runtime                        = "provided.al2023"
  architectures                  = [var.architecture]
  memory_size                    = var.fetcher_memory_mb
  timeout                        = var.fetcher_timeout_s
  reserved_concurrent_executions = 1 # one fetcher at a time: one API budget, one token refresher
  kms_key_arn                    = aws_kms_key.this.arn

  environment {
    variables = local.fetcher_environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this["fetcher"].name
  }

  tracing_config {
    mode = var.enable_xray ? "Active" : "PassThrough"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  dynamic "vpc_config" {
    for_each = var.static_egress_ip ? [1] : []
    content {
      subnet_ids         = [aws_subnet.private[0].id]
      security_group_ids = [aws_security_group.fetcher[0].id]
    }
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.fetcher]
}

resource "aws_lambda_function" "trend_scorer" {
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the zips built by `make package` do not have; the zips' hashes are pinned by source_code_hash.
  #checkov:skip=CKV_AWS_117:The trend-scorer talks only to DynamoDB; a VPC would add a NAT or endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_116:Stream-invoked: failed batches go to the event source mapping's on-failure destination (the SQS queue), a DLQ would never be used.
  function_name                  = local.functions.trend_scorer
  description                    = "Scores snapshot inserts from the table's stream"
  role                           = aws_iam_role.trend_scorer.arn
  filename                       = local.zips.trend_scorer
  source_code_hash               = filebase64sha256(local.zips.trend_scorer)
  handler                        = "bootstrap"
  runtime                        = "provided.al2023"
  architectures                  = [var.architecture]
  memory_size                    = var.stream_function_memory_mb
  timeout                        = var.stream_function_timeout_s
  reserved_concurrent_executions = var.stream_reserved_concurrency
  kms_key_arn                    = aws_kms_key.this.arn

  environment {
    variables = local.trend_scorer_environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this["trend_scorer"].name
  }

  tracing_config {
    mode = var.enable_xray ? "Active" : "PassThrough"
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.trend_scorer]
}

resource "aws_lambda_function" "notifier" {
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the zips built by `make package` do not have; the zips' hashes are pinned by source_code_hash.
  #checkov:skip=CKV_AWS_117:The notifier talks to DynamoDB, SNS and Slack's public webhooks; a VPC would add a NAT for no isolation gain.
  function_name                  = local.functions.notifier
  description                    = "Sends alerts for event inserts (stream) and digests (schedule)"
  role                           = aws_iam_role.notifier.arn
  filename                       = local.zips.notifier
  source_code_hash               = filebase64sha256(local.zips.notifier)
  handler                        = "bootstrap"
  runtime                        = "provided.al2023"
  architectures                  = [var.architecture]
  memory_size                    = var.stream_function_memory_mb
  timeout                        = var.stream_function_timeout_s
  reserved_concurrent_executions = var.stream_reserved_concurrency
  kms_key_arn                    = aws_kms_key.this.arn

  environment {
    variables = local.notifier_environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this["notifier"].name
  }

  tracing_config {
    mode = var.enable_xray ? "Active" : "PassThrough"
  }

  # The digest runs are asynchronous (scheduler): a failed one lands in the queue.
  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.notifier]
}

################################################################################
# Stream → functions, filtered by item kind, with partial batch failures.
################################################################################

resource "aws_lambda_event_source_mapping" "trend_scorer" {
  function_name                      = aws_lambda_function.trend_scorer.arn
  event_source_arn                   = aws_dynamodb_table.this.stream_arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.stream_batch_size
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.stream_max_retries
  maximum_record_age_in_seconds      = 86400

  filter_criteria {
    filter {
      pattern = local.snapshot_insert_filter
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dlq.arn
    }
  }
}

resource "aws_lambda_event_source_mapping" "notifier" {
  function_name                      = aws_lambda_function.notifier.arn
  event_source_arn                   = aws_dynamodb_table.this.stream_arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.stream_batch_size
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.stream_max_retries
  maximum_record_age_in_seconds      = 86400

  filter_criteria {
    filter {
      pattern = local.event_insert_filter
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dlq.arn
    }
  }
}

################################################################################
# Schedules: the fetcher and the notifier's digest (EventBridge Scheduler).
################################################################################

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "Invoke"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.fetcher.arn, aws_lambda_function.notifier.arn]
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "fetcher" {
  name                         = "${var.name}-fetcher"
  schedule_expression          = var.fetch_schedule
  schedule_expression_timezone = var.schedule_timezone
  kms_key_arn                  = aws_kms_key.this.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.fetcher.arn
    role_arn = aws_iam_role.scheduler.arn
    # The shape of events/fetcher/scheduled.json, with the scheduler's context attributes.
    input = jsonencode({
      version       = "0"
      id            = "<aws.scheduler.execution-id>"
      "detail-type" = "Scheduled Event"
      source        = "aws.scheduler"
      account       = local.account
      time          = "<aws.scheduler.scheduled-time>"
      region        = local.region
      resources     = ["<aws.scheduler.schedule-arn>"]
      detail        = {}
    })

    retry_policy {
      maximum_retry_attempts       = 1
      maximum_event_age_in_seconds = 900
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}

resource "aws_scheduler_schedule" "digest" {
  name                         = "${var.name}-digest"
  schedule_expression          = var.digest_schedule
  schedule_expression_timezone = var.schedule_timezone
  kms_key_arn                  = aws_kms_key.this.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.notifier.arn
    role_arn = aws_iam_role.scheduler.arn
    # The shape of events/notifier/digest.json.
    input = jsonencode({
      version       = "0"
      id            = "<aws.scheduler.execution-id>"
      "detail-type" = "Scheduled Event"
      source        = "aws.scheduler"
      account       = local.account
      time          = "<aws.scheduler.scheduled-time>"
      region        = local.region
      resources     = ["<aws.scheduler.schedule-arn>"]
      detail        = { digest = "daily" }
    })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }
}

################################################################################
# Alarms: errors and throttles per function, stream iterator age, anything in the dead-letter queue.
################################################################################

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each            = local.functions
  alarm_name          = "${each.value}-errors"
  alarm_description   = "${each.value} returned errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
  depends_on          = [aws_lambda_function.fetcher, aws_lambda_function.trend_scorer, aws_lambda_function.notifier]
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each            = local.functions
  alarm_name          = "${each.value}-throttles"
  alarm_description   = "${each.value} was throttled (reserved concurrency reached)"
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
  depends_on          = [aws_lambda_function.fetcher, aws_lambda_function.trend_scorer, aws_lambda_function.notifier]
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  for_each            = { trend_scorer = local.functions.trend_scorer, notifier = local.functions.notifier }
  alarm_name          = "${each.value}-iterator-age"
  alarm_description   = "${each.value} is falling behind the table's stream"
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = 600000 # 10 minutes, in milliseconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
  depends_on          = [aws_lambda_function.trend_scorer, aws_lambda_function.notifier]
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Failed stream batches or scheduled invocations are waiting in ${aws_sqs_queue.dlq.name}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

################################################################################
# Optional static egress: the fetcher in a private subnet behind a NAT gateway with one Elastic IP,
# so Mercado Libre can allow-list a single address (static_egress_ip = true).
################################################################################

resource "aws_vpc" "this" {
  count                = var.static_egress_ip ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = var.name })
}

# No rules: nothing uses the default security group.
resource "aws_default_security_group" "this" {
  count  = var.static_egress_ip ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = local.tags
}

resource "aws_subnet" "public" {
  count             = var.static_egress_ip ? 1 : 0
  vpc_id            = aws_vpc.this[0].id
  cidr_block        = cidrsubnet(var.vpc_cidr, 1, 0)
  availability_zone = local.egress_az
  tags              = merge(local.tags, { Name = "${var.name}-public" })
}

resource "aws_subnet" "private" {
  count             = var.static_egress_ip ? 1 : 0
  vpc_id            = aws_vpc.this[0].id
  cidr_block        = cidrsubnet(var.vpc_cidr, 1, 1)
  availability_zone = local.egress_az
  tags              = merge(local.tags, { Name = "${var.name}-private" })
}

resource "aws_internet_gateway" "this" {
  count  = var.static_egress_ip ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = local.tags
}

resource "aws_eip" "nat" {
  #checkov:skip=CKV2_AWS_19:The Elastic IP is attached to the NAT gateway (aws_nat_gateway.this), not to an EC2 instance.
  count  = var.static_egress_ip ? 1 : 0
  domain = "vpc"
  tags   = merge(local.tags, { Name = "${var.name}-egress" })
}

resource "aws_nat_gateway" "this" {
  count         = var.static_egress_ip ? 1 : 0
  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
  tags          = local.tags
  depends_on    = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  count  = var.static_egress_ip ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = local.tags
}

resource "aws_route" "public_internet" {
  count                  = var.static_egress_ip ? 1 : 0
  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count          = var.static_egress_ip ? 1 : 0
  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route_table" "private" {
  count  = var.static_egress_ip ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = local.tags
}

resource "aws_route" "private_nat" {
  count                  = var.static_egress_ip ? 1 : 0
  route_table_id         = aws_route_table.private[0].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

resource "aws_route_table_association" "private" {
  count          = var.static_egress_ip ? 1 : 0
  subnet_id      = aws_subnet.private[0].id
  route_table_id = aws_route_table.private[0].id
}

resource "aws_security_group" "fetcher" {
  count       = var.static_egress_ip ? 1 : 0
  name        = "${var.name}-fetcher"
  description = "The fetcher: HTTPS out only (Mercado Libre and AWS APIs), nothing in"
  vpc_id      = aws_vpc.this[0].id

  egress {
    description = "HTTPS to Mercado Libre and the AWS APIs through the NAT gateway"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = local.tags
}

resource "aws_flow_log" "this" {
  count                = var.static_egress_ip ? 1 : 0
  vpc_id               = aws_vpc.this[0].id
  traffic_type         = "REJECT"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow[0].arn
  iam_role_arn         = aws_iam_role.flow[0].arn
  tags                 = local.tags
}

resource "aws_cloudwatch_log_group" "flow" {
  count             = var.static_egress_ip ? 1 : 0
  name              = "/${var.name}/vpc-flow"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

data "aws_iam_policy_document" "flow_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "flow" {
  count              = var.static_egress_ip ? 1 : 0
  name               = "${var.name}-vpc-flow"
  assume_role_policy = data.aws_iam_policy_document.flow_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "flow" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/${var.name}/vpc-flow:*"]
  }
}

resource "aws_iam_role_policy" "flow" {
  count  = var.static_egress_ip ? 1 : 0
  name   = "flow-logs"
  role   = aws_iam_role.flow[0].id
  policy = data.aws_iam_policy_document.flow.json
}
