# The secrets the OMS pods read. `oms-app`: ready-to-use connection URLs with credentials,
# composed here from the generated Redis AUTH token and DocumentDB password so that neither
# value is ever typed by a person or stored in git. External Secrets Operator copies it into
# the Kubernetes Secret `oms-secrets` (k8s/base/external-secret.yaml); pods take OMS_REDIS
# and OMS_MONGO from there as env var references. `oms-api-keys`: the ingress's key file,
# below. The Kafka SASL/SCRAM user lives in modules/msk (AmazonMSK_<name>_oms: MSK requires
# the prefix and associates it with the cluster), copied into `oms-kafka-credentials`.

locals {
  redis_url = format(
    "rediss://:%s@%s:%d",
    module.redis.auth_token,
    module.redis.primary_endpoint,
    module.redis.port,
  )

  # DocumentDB specifics: TLS with the Amazon RDS CA bundle (mounted from the ConfigMap
  # documentdb-ca, see docs/deployment.md), replica set rs0, and retryWrites=false because
  # DocumentDB does not support retryable writes.
  mongo_url = format(
    "mongodb://%s:%s@%s:%d/oms?tls=true&tlsCAFile=%s&replicaSet=rs0&readPreference=secondaryPreferred&retryWrites=false",
    module.documentdb.master_username,
    module.documentdb.master_password,
    module.documentdb.endpoint,
    module.documentdb.port,
    "/etc/oms/documentdb-ca/global-bundle.pem",
  )
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:Derived secret: it changes only when the Redis AUTH token or the DocumentDB password changes, which is a coordinated, manual rotation (docs/deployment.md, "Rotating credentials"); an automatic rotation Lambda here would break the running pods' connections.
  name                    = "${local.name}/oms-app"
  description             = "OMS connection URLs (redis_url, mongo_url) for External Secrets Operator"
  kms_key_id              = module.kms.key_arns["secrets"]
  recovery_window_in_days = 7
}

# The ingress API keys: the whole keys.toml (sha256 digests, bins/oms/src/keys.rs) as the
# secret's plain-text value, copied by External Secrets Operator into the Kubernetes Secret
# `oms-api-keys`. Terraform creates the container only: the value is the operator's
# (`aws secretsmanager put-secret-value --secret-string file://keys.toml`, docs/deployment.md),
# so key digests never pass through the Terraform state.
resource "aws_secretsmanager_secret" "api_keys" {
  #checkov:skip=CKV2_AWS_57:API keys are issued to clients; rotating one means giving the client a new key first, an operator procedure (docs/deployment.md, "API keys"); a rotation Lambda has nobody to hand the new key to.
  name                    = "${local.name}/oms-api-keys"
  description             = "OMS ingress API keys (keys.toml with sha256 digests) for External Secrets Operator"
  kms_key_id              = module.kms.key_arns["secrets"]
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    redis_url = local.redis_url
    mongo_url = local.mongo_url
  })
}
