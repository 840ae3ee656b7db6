# Amazon MSK (provisioned): TLS-only client traffic, encryption in the cluster, KMS at rest,
# SASL/SCRAM (default; the oms binary's `--kafka-security scram-sha-512`) or SASL/IAM
# authentication, no public access, brokers in private subnets, broker logs to CloudWatch.
# The root module refuses IAM (terraform/variables.tf, msk_auth_mode): the oms binary cannot
# sign MSK IAM tokens. It stays here for clients that can.

locals {
  # A topic can have at most one replica per broker. With three or more brokers every
  # partition has three copies and survives one broker loss with acks=all (min ISR 2).
  replication_factor  = min(3, var.broker_count)
  min_insync_replicas = max(1, local.replication_factor - 1)

  client_port = var.auth_mode == "iam" ? 9098 : 9096

  # Authorization. IAM principals are authorized by IAM policies and MSK ignores Kafka ACLs
  # for them, so `false` costs nothing there. SASL/SCRAM principals are authorized by Kafka
  # ACLs only, MSK offers no super.users, and with `false` and no ACLs nobody but the brokers
  # may do anything, not even add the first ACL. With SCRAM every principal the cluster
  # accepts is a user whose secret terraform associated (unauthenticated, mTLS and IAM access
  # are off): one user, `oms`, shared by every OMS role, which needs every OMS topic and
  # group anyway. Per-role users with ACLs and then `false` are the next step
  # (docs/deployment.md, "Open points").
  allow_everyone_if_no_acl = var.auth_mode == "scram"

  # kafka.t3.small (dev) supports neither per-broker enhanced monitoring nor open monitoring.
  burstable = startswith(var.instance_type, "kafka.t3.")
}

resource "aws_security_group" "msk" {
  name        = "${var.name}-msk"
  description = "MSK brokers: Kafka from the EKS cluster security group only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-msk" })
}

resource "aws_vpc_security_group_ingress_rule" "msk_clients" {
  security_group_id            = aws_security_group.msk.id
  description                  = "Kafka SASL_SSL (${var.auth_mode}) from EKS pods and nodes"
  ip_protocol                  = "tcp"
  from_port                    = local.client_port
  to_port                      = local.client_port
  referenced_security_group_id = var.client_security_group_id
}

resource "aws_msk_configuration" "this" {
  name           = "${var.name}-oms"
  kafka_versions = [var.kafka_version]
  description    = "OMS broker defaults: no auto-created topics, no unclean leader election"

  # Topics are created explicitly (docs/deployment.md): the partition count of `orders`
  # decides how many engine pods can share the work, so it must never be a broker default.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${local.replication_factor}
    min.insync.replicas=${local.min_insync_replicas}
    unclean.leader.election.enable=false
    num.partitions=12
    log.retention.hours=168
    allow.everyone.if.no.acl.found=${local.allow_everyone_if_no_acl}
  PROPERTIES

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "broker" {
  name              = "/aws/msk/${var.name}/broker"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count
  enhanced_monitoring    = local.burstable ? "DEFAULT" : "PER_BROKER"

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.msk.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.ebs_volume_size_gib
      }
    }

    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = var.kms_key_arn
    encryption_in_transit {
      client_broker = "TLS" # no plaintext listener at all
      in_cluster    = true
    }
  }

  client_authentication {
    unauthenticated = false
    sasl {
      iam   = var.auth_mode == "iam"
      scram = var.auth_mode == "scram"
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.broker.name
      }
    }
  }

  # Prometheus JMX/node exporters on the brokers, scrapeable from inside the VPC.
  dynamic "open_monitoring" {
    for_each = local.burstable ? [] : [1]
    content {
      prometheus {
        jmx_exporter {
          enabled_in_broker = true
        }
        node_exporter {
          enabled_in_broker = true
        }
      }
    }
  }

  tags = var.tags
}

# --- SASL/SCRAM (only when auth_mode = "scram") --------------------------------------------
# One user, `oms`, for every OMS role. The secret's JSON ({"username", "password"}) is what
# MSK reads to admit the user and what External Secrets Operator copies into the Kubernetes
# Secret `oms-kafka-credentials` (k8s/base/external-secret.yaml). MSK refuses secrets under
# the AWS-managed key: it is encrypted with the customer-managed `secrets` key.

data "aws_secretsmanager_random_password" "scram" {
  count = var.auth_mode == "scram" ? 1 : 0

  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "scram" {
  #checkov:skip=CKV2_AWS_57:MSK has no managed rotation for SCRAM secrets; rotating means adding a second user, rolling the pods, then removing the first (docs/deployment.md, "Rotating credentials").
  count = var.auth_mode == "scram" ? 1 : 0

  # MSK only associates secrets whose name starts with AmazonMSK_.
  name                    = "AmazonMSK_${var.name}_oms"
  description             = "SASL/SCRAM credentials of the OMS Kafka client"
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "scram" {
  count = var.auth_mode == "scram" ? 1 : 0

  secret_id = aws_secretsmanager_secret.scram[0].id
  secret_string = jsonencode({
    username = "oms"
    password = data.aws_secretsmanager_random_password.scram[0].random_password
  })

  # The data source draws a new password on every plan; keep the first one. Rotate on
  # purpose by tainting this resource (docs/deployment.md, "Rotating credentials").
  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_msk_scram_secret_association" "this" {
  count = var.auth_mode == "scram" ? 1 : 0

  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.scram[0].arn]

  depends_on = [aws_secretsmanager_secret_version.scram]
}
