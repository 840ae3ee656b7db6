# Cost-optimized dev stack: same topology and security controls as prod, smaller and with
# fewer redundant parts. About a fifth of the prod monthly cost (docs/deployment.md).
#
#   terraform -chdir=terraform plan -var-file=examples/cost-optimized/terraform.tfvars
#
# What is given up, and why it is acceptable for dev:
# - 2 AZs and one NAT gateway: an AZ outage takes dev down.
# - Spot nodes: an interruption moves engine partitions (journal replay on the new pod).
# - 2 small MSK brokers: replication factor 2, min ISR 1 (one broker loss keeps writes, two lose data).
# - 1 Redis node, no Multi-AZ: Redis holds only idempotency keys and caches; the OMS
#   degrades to the engine's own dedupe when it is down.
# - 1 DocumentDB instance, no deletion protection: dev data is disposable, backups stay on.
# - No CloudFront/WAF: the ingress pods serve the dashboard through the ALB.

environment = "dev"
name_prefix = "oms"
region      = "us-east-1"

domain_name     = "oms-dev.example.com"
route53_zone_id = "Z0123456789EXAMPLE"

# Same CIDR as prod (separate accounts): k8s/base/networkpolicies.yaml uses its ipBlocks.
vpc_cidr            = "10.40.0.0/16"
az_count            = 2
single_nat_gateway  = true
interface_endpoints = ["ecr.api", "ecr.dkr", "sts"]

kubernetes_version     = "1.35"
endpoint_public_access = true
public_access_cidrs    = ["203.0.113.10/32"] # your office/VPN egress address

node_instance_types = ["m6i.large", "m6a.large", "m5.large"] # several types: better Spot availability
node_capacity_type  = "SPOT"
node_min_size       = 2
node_desired_size   = 2
node_max_size       = 3

msk_broker_count        = 2
msk_instance_type       = "kafka.t3.small"
msk_ebs_volume_size_gib = 20
msk_auth_mode           = "scram" # TLS + SASL/SCRAM on 9096, as in prod ("iam" is refused)

redis_node_type          = "cache.t4g.small"
redis_num_cache_clusters = 1
redis_multi_az           = false

docdb_instance_class        = "db.t4g.medium"
docdb_instance_count        = 1
docdb_backup_retention_days = 7
deletion_protection         = false

enable_waf          = false
enable_frontend_cdn = false

log_retention_days       = 30
kms_deletion_window_days = 7
