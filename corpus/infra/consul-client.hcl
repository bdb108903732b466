datacenter = "dc1"
data_dir   = "/opt/consul"

acl {
  enabled                  = true
  default_policy           = "deny"
  enable_token_persistence = true

  tokens {
    agent = "3f9c1b7e-52d4-4a8e-9b6f-0c2d7e1a4b58"
  }
}
