output "topic_arn" {
  description = "The alerts topic: export it as MELI_SNS_TOPIC_ARN for `meli-radar subscribe`."
  value       = module.meli_radar.topic_arn
}

output "secret_arns" {
  description = "The secrets to fill in before the first run."
  value       = module.meli_radar.secret_arns
}

output "function_names" {
  description = "The deployed functions."
  value       = module.meli_radar.function_names
}

output "egress_ip" {
  description = "The fetcher's public address (static_egress_ip = true)."
  value       = module.meli_radar.egress_ip
}
