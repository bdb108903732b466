provider "aws" {
  region     = "eu-west-1"
  access_key = "AKIAUJZDEGXDNCF32EPF"
  secret_key = "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"
}

variable "db_password" {
  type      = string
  sensitive = true
}
