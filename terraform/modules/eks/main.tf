# EKS control plane, OIDC provider for IRSA, one managed node group in private subnets, and
# the core add-ons (VPC CNI with NetworkPolicy enforcement, CoreDNS, kube-proxy, EBS CSI,
# EFS CSI).

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
}

# --- Control plane -------------------------------------------------------------------------

# Created before the cluster so that retention and encryption apply from the first log line
# (EKS would otherwise create the group itself, unencrypted and kept forever).
resource "aws_cloudwatch_log_group" "cluster" {
  name              = "/aws/eks/${var.name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${var.name}-eks-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

# The cluster role uses the secrets key for envelope encryption of Kubernetes Secrets.
data "aws_iam_policy_document" "cluster_kms" {
  statement {
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
    resources = [var.secrets_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "cluster_kms" {
  name   = "secrets-envelope-encryption"
  role   = aws_iam_role.cluster.id
  policy = data.aws_iam_policy_document.cluster_kms.json
}

resource "aws_eks_cluster" "this" {
  name     = var.name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids              = var.private_subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.endpoint_public_access
    public_access_cidrs     = var.endpoint_public_access ? var.public_access_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = var.secrets_kms_key_arn
    }
  }

  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  # Access entries instead of the aws-auth ConfigMap: IAM-managed, auditable, no YAML to
  # corrupt. The identity running terraform stays admin so the first kubectl works.
  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  # STANDARD: at the end of standard support EKS upgrades the cluster instead of silently
  # moving it to extended support at six times the hourly price.
  upgrade_policy {
    support_type = "STANDARD"
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.cluster,
    aws_iam_role_policy_attachment.cluster,
    aws_iam_role_policy.cluster_kms,
  ]
}

resource "aws_eks_access_entry" "admins" {
  for_each = toset(var.admin_principal_arns)

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  type          = "STANDARD"
  tags          = var.tags
}

resource "aws_eks_access_policy_association" "admins" {
  for_each = toset(var.admin_principal_arns)

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }

  depends_on = [aws_eks_access_entry.admins]
}

# --- IRSA ----------------------------------------------------------------------------------

# No thumbprint: IAM trusts the EKS OIDC issuer through its own root CAs (thumbprints are
# optional since 2023), which also avoids the hashicorp/tls provider.
resource "aws_iam_openid_connect_provider" "this" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

locals {
  oidc_issuer_host = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")

  # Add-on service accounts that get their own IAM role (never the node role).
  addon_irsa = {
    vpc-cni = {
      namespace        = "kube-system"
      service_accounts = ["aws-node"]
      policy_arn       = "arn:${local.partition}:iam::aws:policy/AmazonEKS_CNI_Policy"
    }
    ebs-csi = {
      namespace        = "kube-system"
      service_accounts = ["ebs-csi-controller-sa"]
      policy_arn       = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    }
    # The add-on puts the role on both of its service accounts: the controller creates and
    # deletes access points (dynamic provisioning), the node plugin mounts. The managed
    # policy scopes access-point deletion to those the driver tagged.
    efs-csi = {
      namespace        = "kube-system"
      service_accounts = ["efs-csi-controller-sa", "efs-csi-node-sa"]
      policy_arn       = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
    }
  }
}

data "aws_iam_policy_document" "addon_assume" {
  for_each = local.addon_irsa

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer_host}:sub"
      values   = [for sa in each.value.service_accounts : "system:serviceaccount:${each.value.namespace}:${sa}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "addon" {
  for_each = local.addon_irsa

  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.addon_assume[each.key].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "addon" {
  for_each = local.addon_irsa

  role       = aws_iam_role.addon[each.key].name
  policy_arn = each.value.policy_arn
}

# --- Nodes ---------------------------------------------------------------------------------

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name               = "${var.name}-eks-node"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
  tags               = var.tags
}

# Deliberately no AmazonEKS_CNI_Policy here: the CNI gets it through IRSA (above), so pods
# that could reach the node role would not inherit ENI management rights.
resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "arn:${local.partition}:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:${local.partition}:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
  ])

  role       = aws_iam_role.node.name
  policy_arn = each.value
}

resource "aws_launch_template" "node" {
  name_prefix = "${var.name}-node-"
  description = "EKS managed nodes for ${var.name}"

  # IMDSv2 only, hop limit 1: containers (one hop further than the host) cannot reach the
  # instance metadata service, so no pod can borrow the node role; pods use IRSA.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.node_disk_size_gib
      volume_type           = "gp3"
      encrypted             = true # AWS-managed aws/ebs key: no key-policy grant to the Auto Scaling role needed
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name}-node" })
  }

  tags = var.tags
}

resource "aws_eks_node_group" "default" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${var.name}-default"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.private_subnet_ids
  ami_type        = "AL2023_x86_64_STANDARD"
  capacity_type   = var.node_capacity_type
  instance_types  = var.node_instance_types

  scaling_config {
    min_size     = var.node_min_size
    desired_size = var.node_desired_size
    max_size     = var.node_max_size
  }

  # One node at a time: the PodDisruptionBudgets then keep engines and ingress available.
  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }

  labels = {
    "oms.example.com/pool" = "default"
  }

  tags = var.tags

  # Scaling is normally changed by an autoscaler; do not fight it on every apply.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_eks_addon.vpc_cni,
    aws_eks_addon.kube_proxy,
  ]
}

# --- Add-ons -------------------------------------------------------------------------------
# addon_version left unset: EKS installs the default version for the cluster's Kubernetes
# version, and bumps it with the control plane.

resource "aws_eks_addon" "vpc_cni" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "vpc-cni"
  service_account_role_arn    = aws_iam_role.addon["vpc-cni"].arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  # The CNI's network policy agent is what enforces k8s/base NetworkPolicies; without it
  # they would be accepted by the API server and silently ignored.
  configuration_values = jsonencode({
    enableNetworkPolicy = "true"
  })

  tags = var.tags
}

resource "aws_eks_addon" "kube_proxy" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "kube-proxy"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  tags                        = var.tags
}

resource "aws_eks_addon" "coredns" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "coredns"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  tags                        = var.tags

  depends_on = [aws_eks_node_group.default] # CoreDNS pods need nodes to become healthy
}

# No OMS workload uses EBS volumes any more (the engine journals moved to EFS, below); kept
# because it is the cluster's block-storage driver for anything else that asks for a
# ReadWriteOnce volume (e.g. Prometheus storage).
resource "aws_eks_addon" "ebs_csi" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "aws-ebs-csi-driver"
  service_account_role_arn    = aws_iam_role.addon["ebs-csi"].arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  tags                        = var.tags

  depends_on = [aws_eks_node_group.default]
}

# The engine shard journals live on one EFS volume (ReadWriteMany) that this driver
# provisions as an access point on the file system of modules/efs (StorageClass
# oms-shards-efs in k8s/base), so every engine pod, in any AZ, can open any shard.
resource "aws_eks_addon" "efs_csi" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "aws-efs-csi-driver"
  service_account_role_arn    = aws_iam_role.addon["efs-csi"].arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  tags                        = var.tags

  depends_on = [aws_eks_node_group.default]
}
