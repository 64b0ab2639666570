variable "region" {
  description = "AWS region to deploy to (São Paulo is closest to Mercado Libre's users)."
  type        = string
  default     = "sa-east-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "meli-radar"
}

variable "categories" {
  description = "Categories to track, such as [\"MLB1055\", \"MLA1055\"]."
  type        = list(string)
}

variable "static_egress_ip" {
  description = "Give the fetcher one public address for Mercado Libre's allow-list (adds a NAT gateway)."
  type        = bool
  default     = false
}

variable "ops_email" {
  description = "E-mail address that receives the alarms (confirm the subscription e-mail), or null."
  type        = string
  default     = null
}
