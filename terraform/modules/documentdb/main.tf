# Amazon DocumentDB: TLS enforced by the parameter group, KMS at rest, 7+ days of backups,
# deletion protection (prod), audit and profiler logs to CloudWatch.

resource "aws_security_group" "docdb" {
  name        = "${var.name}-documentdb"
  description = "DocumentDB: 27017 from the EKS cluster security group only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-documentdb" })
}

resource "aws_vpc_security_group_ingress_rule" "docdb_clients" {
  security_group_id            = aws_security_group.docdb.id
  description                  = "MongoDB wire protocol over TLS from EKS pods and nodes"
  ip_protocol                  = "tcp"
  from_port                    = 27017
  to_port                      = 27017
  referenced_security_group_id = var.client_security_group_id
}

resource "aws_docdb_subnet_group" "this" {
  name       = "${var.name}-documentdb"
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_docdb_cluster_parameter_group" "this" {
  name        = "${var.name}-documentdb"
  family      = "docdb5.0"
  description = "OMS: TLS required, audit and profiler logging"

  parameter {
    name  = "tls"
    value = "enabled" # connections without TLS are refused
  }

  parameter {
    name  = "audit_logs"
    value = "enabled"
  }

  parameter {
    name  = "profiler"
    value = "enabled"
  }

  parameter {
    name  = "profiler_threshold_ms"
    value = "200" # the persister's bulk upserts should stay far below this
  }

  tags = var.tags
}

# --- Master credentials --------------------------------------------------------------------

# DocumentDB passwords: 8-100 printable characters without / " @ or spaces. Letters and
# digits only, so the password sits in a mongodb:// URL without percent-encoding.
data "aws_secretsmanager_random_password" "master" {
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "master" {
  #checkov:skip=CKV2_AWS_57:The OMS reads this password through the composed oms-app secret; an automatic single-user rotation would invalidate it under running persisters. Rotation is a deliberate, documented procedure (docs/deployment.md, "Rotating credentials").
  name                    = "${var.name}/documentdb"
  description             = "DocumentDB master credentials of ${var.name}"
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "master" {
  secret_id = aws_secretsmanager_secret.master.id
  secret_string = jsonencode({
    username = var.master_username
    password = data.aws_secretsmanager_random_password.master.random_password
  })

  # The data source draws a new value on every plan; the first one is kept.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

# --- Cluster -------------------------------------------------------------------------------

# DocumentDB writes to these fixed names; creating them first sets retention and KMS.
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(["audit", "profiler"])

  name              = "/aws/docdb/${var.name}-documentdb/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_docdb_cluster" "this" {
  cluster_identifier = "${var.name}-documentdb"
  engine             = "docdb"
  engine_version     = var.engine_version
  port               = 27017

  master_username = var.master_username
  master_password = jsondecode(aws_secretsmanager_secret_version.master.secret_string)["password"]

  db_subnet_group_name            = aws_docdb_subnet_group.this.name
  vpc_security_group_ids          = [aws_security_group.docdb.id]
  db_cluster_parameter_group_name = aws_docdb_cluster_parameter_group.this.name

  storage_encrypted = true
  kms_key_id        = var.kms_key_arn

  backup_retention_period      = var.backup_retention_days
  preferred_backup_window      = "02:00-03:00"
  preferred_maintenance_window = "sun:04:00-sun:05:00"
  deletion_protection          = var.deletion_protection
  skip_final_snapshot          = false
  final_snapshot_identifier    = "${var.name}-documentdb-final"
  apply_immediately            = false

  enabled_cloudwatch_logs_exports = ["audit", "profiler"]

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.exports]
}

resource "aws_docdb_cluster_instance" "this" {
  count = var.instance_count

  identifier                 = "${var.name}-documentdb-${count.index}"
  cluster_identifier         = aws_docdb_cluster.this.id
  instance_class             = var.instance_class
  ca_cert_identifier         = "rds-ca-rsa2048-g1"
  auto_minor_version_upgrade = true
  promotion_tier             = count.index

  tags = var.tags
}
