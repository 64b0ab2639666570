variable "name" {
  description = "Prefix of every resource name (table, functions, topic, secrets, alarms)."
  type        = string
  default     = "meli-radar"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "categories" {
  description = "Best-seller categories to track, such as [\"MLB1055\", \"MLA1055\"] (the site comes from the id)."
  type        = list(string)

  validation {
    condition     = length(var.categories) > 0 && alltrue([for c in var.categories : can(regex("^(MLA|MLB|MLM|MLC|MCO|MLU|MPE|MLV|MEC|MBO|MPY|MCR|MGT|MHN|MNI|MPA|MSV|MRD|MCU)[0-9]{1,12}$", c))])
    error_message = "categories must be category ids such as MLB1055."
  }
}

variable "api_base_url" {
  description = "Base URL of the Mercado Libre API."
  type        = string
  default     = "https://api.mercadolibre.com"
}

variable "refresh_every" {
  description = "How often each category is refreshed (the fetcher picks the categories that are due), such as 15m or 1h."
  type        = string
  default     = "1h"
}

variable "fetch_schedule" {
  description = "EventBridge Scheduler expression that runs the fetcher; it fetches only the categories that are due."
  type        = string
  default     = "rate(15 minutes)"
}

variable "digest_schedule" {
  description = "EventBridge Scheduler expression of the notifier's digest run."
  type        = string
  default     = "cron(0 11 * * ? *)"
}

variable "schedule_timezone" {
  description = "Time zone of the schedules."
  type        = string
  default     = "America/Sao_Paulo"
}

variable "fetch_concurrency" {
  description = "Categories the fetcher fetches at the same time."
  type        = number
  default     = 4
}

variable "rate_limit_rps" {
  description = "Mercado Libre API requests per second for the fetcher (the app's budget is about 5/s; keep 10 % headroom)."
  type        = number
  default     = 4.5
}

variable "retention_days" {
  description = "Snapshots and product history expire (DynamoDB TTL) after this many days."
  type        = number
  default     = 180
}

variable "lambda_zip_dir" {
  description = "Directory holding <function>/bootstrap.zip as built by `make package` (cargo lambda build --output-format zip)."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Lambda architecture of the zips: x86_64 (default build) or arm64 (`make package ARCH=arm64`)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "fetcher_memory_mb" {
  description = "Memory of the fetcher function (MB)."
  type        = number
  default     = 256
}

variable "fetcher_timeout_s" {
  description = "Timeout of the fetcher function (seconds); the fetch step stops starting categories 10 s before it."
  type        = number
  default     = 600
}

variable "scorer_state_cache_mb" {
  description = "Memory (MB) the trend-scorer keeps the lists' states in between records (about 3,500 lists at 8 MB, about 250 of them decoded); keep it well under stream_function_memory_mb. 0 turns it off."
  type        = number
  default     = 8
  validation {
    condition     = var.scorer_state_cache_mb >= 0 && var.scorer_state_cache_mb <= 8192 && floor(var.scorer_state_cache_mb) == var.scorer_state_cache_mb
    error_message = "scorer_state_cache_mb must be a whole number of MB from 0 to 8192."
  }
}

variable "stream_function_memory_mb" {
  description = "Memory of the trend-scorer and notifier functions (MB)."
  type        = number
  default     = 128
}

variable "stream_function_timeout_s" {
  description = "Timeout of the trend-scorer and notifier functions (seconds)."
  type        = number
  default     = 60
}

variable "stream_reserved_concurrency" {
  description = "Reserved concurrency of each stream function (bounds DynamoDB and SNS load)."
  type        = number
  default     = 5
}

variable "stream_batch_size" {
  description = "Stream records per invocation."
  type        = number
  default     = 100
}

variable "stream_max_retries" {
  description = "Retries of a failing stream batch before it goes to the on-failure queue."
  type        = number
  default     = 5
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch logs (days)."
  type        = number
  default     = 365
}

variable "enable_xray" {
  description = "Active X-Ray tracing of the functions."
  type        = bool
  default     = false
}

variable "static_egress_ip" {
  description = "Run the fetcher in a VPC whose NAT gateway has one Elastic IP, so Mercado Libre can allow-list that address (adds about US$ 33/month for the NAT gateway)."
  type        = bool
  default     = false
}

variable "vpc_cidr" {
  description = "CIDR of the VPC created when static_egress_ip is true."
  type        = string
  default     = "10.42.0.0/24"
}

variable "sns_controls" {
  description = "Controls of the SNS destination (docs/alerts.md): daily cap, quiet hours, UTC offset, mode; {} for the defaults."
  type        = any
  default     = {}
}

variable "egress_availability_zone" {
  description = "Availability zone of the egress subnets (static_egress_ip = true); the region's first zone (\"<region>a\") when null."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "ARNs (SNS topics) notified when an alarm fires or recovers."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Protect the table from deletion (turn off only to destroy a test deployment)."
  type        = bool
  default     = true
}

################################################################################
variable "enable_slack" {
  description = "Create the Slack webhooks secret and let the notifier post to Slack. false: alerts go to the SNS topic only (e-mail, SMS) and the secret, US$ 0.40 a month, is not created. Turning it off deletes the secret and its webhooks."
  type        = bool
  default     = true
}

# The HTML reports (create_reports = true; infra/reports.tf, docs/report.md).
################################################################################

variable "create_reports" {
  description = "Create the private, KMS-encrypted S3 bucket that the digest writes its HTML reports into (linked from digest messages with presigned URLs)."
  type        = bool
  default     = false
}

variable "report_retention_days" {
  description = "Days a report is kept in the bucket before it expires."
  type        = number
  default     = 30
}

variable "report_link_expiry_hours" {
  description = "Lifetime of the presigned report links in the digest messages, in hours (1-168; SigV4 allows at most 7 days, and a link signed with the notifier role's temporary credentials stops working when they expire, docs/report.md)."
  type        = number
  default     = 168
  validation {
    condition     = var.report_link_expiry_hours >= 1 && var.report_link_expiry_hours <= 168
    error_message = "report_link_expiry_hours must be 1 to 168 (7 days, the SigV4 maximum)."
  }
}

variable "report_days" {
  description = "Days a digest's report covers, counted back from the digest (1-90)."
  type        = number
  default     = 7
  validation {
    condition     = var.report_days >= 1 && var.report_days <= 90
    error_message = "report_days must be 1 to 90."
  }
}
