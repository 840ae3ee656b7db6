# Amazon EFS for the engine shard journals: one Regional (multi-AZ) file system, KMS at rest,
# TLS in transit enforced by the file system policy, a mount target in every private
# subnet, NFS admitted from the EKS nodes only, AWS Backup on.
#
# Why a shared file system: engines fail over through the Kafka consumer group, and the
# engine given a partition must open that shard's journal directory, whichever pod (node,
# AZ) wrote it before (docs/adr/0003-scale-out.md, point 4). The EFS CSI driver (add-on in
# modules/eks) provisions the one ReadWriteMany volume of k8s/base/engine-shards-pvc.yaml on
# it as an access point. The binary's exclusive flock on <shard>/LOCK becomes an NFSv4.1
# lock that EFS enforces across clients, so two engines never write one shard.

resource "aws_security_group" "efs" {
  name        = "${var.name}-efs"
  description = "EFS mount targets: NFS from the EKS node security group only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-efs" })
}

# The node mounts the volume (the EFS CSI node plugin runs in the host network), so the
# source is the node's security group, not a pod's.
resource "aws_vpc_security_group_ingress_rule" "nfs" {
  security_group_id            = aws_security_group.efs.id
  description                  = "NFS (TLS through efs-utils stunnel) from the EKS nodes"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = var.client_security_group_id
}

resource "aws_efs_file_system" "this" {
  #checkov:skip=CKV2_AWS_18:aws_efs_backup_policy ENABLED below puts this file system in the AWS Backup automatic EFS backup plan (daily, 35 days); checkov only recognizes an aws_backup_selection, and a second plan would back up twice.
  creation_token = "${var.name}-engine-shards"
  encrypted      = true
  kms_key_id     = var.kms_key_arn

  # generalPurpose: the lowest latency per operation, which is what an fsync per group
  # commit waits for. maxIO trades latency for aggregate operations per second that a
  # handful of journals never need (and cannot be combined with elastic throughput).
  performance_mode = "generalPurpose"

  # elastic (default): throughput follows the load and is billed per GB read and written,
  # so idle shards cost nothing and a replay after a failover is not throttled. bursting
  # would tie the baseline to the stored size (about 1 MiB/s for a few GiB of journals,
  # once burst credits are gone); provisioned buys a fixed MiB/s for a steady, known load.
  # EFS meters every data operation as at least 32 KiB, so with elastic the bill follows
  # the fsync (batch) rate more than the bytes (docs/deployment.md, "Monthly cost").
  throughput_mode                 = var.throughput_mode
  provisioned_throughput_in_mibps = var.throughput_mode == "provisioned" ? var.provisioned_throughput_mibps : null

  # Journal segments before the latest snapshot and old snapshots are read only if a shard
  # is rebuilt from far back: after 30 days untouched they move to Infrequent Access (about
  # a tenth of the storage price). The active segment and the latest snapshot are touched
  # at every batch or restart and stay in Standard; anything read from IA comes back on
  # first access.
  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }

  lifecycle_policy {
    transition_to_primary_storage_class = "AFTER_1_ACCESS"
  }

  tags = merge(var.tags, { Name = "${var.name}-engine-shards" })

  lifecycle {
    precondition {
      condition     = var.throughput_mode != "provisioned" || var.provisioned_throughput_mibps >= 1
      error_message = "throughput_mode = \"provisioned\" needs provisioned_throughput_mibps >= 1."
    }
  }
}

# AWS Backup's automatic EFS backups: daily, kept 35 days, in the account's automatic EFS
# backup vault. The journals are the record of acknowledged orders until the persister has
# written them to DocumentDB; a restore is the answer to a deleted or corrupted shard.
resource "aws_efs_backup_policy" "this" {
  file_system_id = aws_efs_file_system.this.id

  backup_policy {
    status = "ENABLED"
  }
}

# Reject every NFS connection that is not TLS (the StorageClass mounts with `tls`), and let
# clients that come through a mount target mount and write. No ClientRootAccess: the CSI
# driver's access points map every operation to uid/gid 65532, so nothing needs root on the
# file system.
resource "aws_efs_file_system_policy" "this" {
  file_system_id = aws_efs_file_system.this.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "MountAndWriteThroughMountTargets"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
        Resource  = aws_efs_file_system.this.arn
        Condition = { Bool = { "elasticfilesystem:AccessedViaMountTarget" = "true" } }
      },
      {
        Sid       = "DenyUnencryptedTransport"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = aws_efs_file_system.this.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

# One mount target per private subnet (one per AZ), so every node mounts through its own
# AZ: no cross-AZ data charges, and an AZ outage takes only that AZ's mounts with it.
resource "aws_efs_mount_target" "this" {
  count = length(var.subnet_ids)

  file_system_id  = aws_efs_file_system.this.id
  subnet_id       = var.subnet_ids[count.index]
  security_groups = [aws_security_group.efs.id]
}
