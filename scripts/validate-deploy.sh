#!/usr/bin/env bash
# Static validation of everything that deploys the OMS: Terraform, Kubernetes manifests,
# Dockerfile, and the flags the manifests pass to the `oms` binary. No cloud account, no
# cluster and no Docker engine needed; safe to re-run (idempotent).
#
#   scripts/validate-deploy.sh                 # everything
#   OMS_BINARY=target/release/oms scripts/validate-deploy.sh
#                                              # check flags against a built binary
#
# Steps (each runs even if an earlier one failed; the exit status is non-zero if any did):
#   0. Python venv in .cache/deploy-venv with pinned python-hcl2, checkov,
#      kubernetes-validate, pyyaml (and a pinned lock of their dependencies).
#   1. Parse every .tf / .tfvars / .tftest.hcl file with python-hcl2; every name in a tfvars
#      file must be a variable of the root module. If a terraform binary is installed:
#      fmt -check, and with a local provider mirror also init + validate + `terraform test`
#      (plan with a mocked provider, for both example var files), all offline.
#   2. checkov on terraform/, k8s/ and the Dockerfile: zero failed checks, zero parse
#      errors, and every skip must carry a written reason.
#   3. Render k8s/base and every overlay with scripts/kustomize_render.py (compared object
#      by object with `kubectl kustomize` when kubectl is installed), validate every object
#      with kubernetes-validate against Kubernetes $K8S_VERSION, check deployment
#      invariants, and run checkov on the rendered output.
#   4. scripts/check_manifest_flags.py: every oms flag and OMS_* variable is accepted, every
#      role gets the files it needs (market, API keys) from the right ConfigMap/Secret, and
#      with a binary every market.toml in the rendered manifests is accepted by it.
#
# What this cannot prove is listed in docs/deployment.md ("What CI validates").

set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 2

# Kubernetes version the manifests are validated against: the EKS version terraform
# deploys (terraform/variables.tf, kubernetes_version).
K8S_VERSION="1.35.0"
CACHE_DIR="$REPO_ROOT/.cache"
VENV="$CACHE_DIR/deploy-venv"
RENDER_DIR="$CACHE_DIR/deploy-render"
REPORT_DIR="$CACHE_DIR/deploy-reports"
PY="$VENV/bin/python"

FAILED_STEPS=()
SUMMARY=()

step() { printf '\n=== %s ===\n' "$*"; }
fail() { FAILED_STEPS+=("$1"); printf 'FAIL: %s\n' "$1" >&2; }
note() { printf 'NOTE: %s\n' "$*"; }

# --- 0. tools --------------------------------------------------------------------------------

# Top-level tools, pinned.
REQUIREMENTS='python-hcl2==8.1.4
checkov==3.3.30
kubernetes-validate==1.37.0
pyyaml==6.0.3'

# Every transitive dependency, pinned too, so checkov's results cannot change under us
# between runs (regenerate with `.cache/deploy-venv/bin/pip freeze` after a deliberate
# upgrade of the four tools above).
CONSTRAINTS='aiodns==3.6.1
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiomultiprocess==0.9.1
aiosignal==1.4.0
annotated-types==0.8.0
argcomplete==3.7.2
asteval==1.0.6
attrs==26.1.0
bc-detect-secrets==1.5.52
bc-jsonpath-ng==1.6.1
bc-python-hcl2==0.4.3
beartype==0.23.1
beautifulsoup4==4.15.0
boolean.py==5.0
boto3==1.35.49
botocore==1.35.99
cached-property==2.0.1
cachetools==5.5.2
certifi==2026.10.18
cffi==2.1.1
charset-normalizer==3.5.2
checkov==3.3.30
click==8.5.1
click-option-group==0.5.9
cloudsplaining==0.7.0
colorama==0.4.6
ConfigArgParse==1.9.0
contextlib2==21.6.0
cyclonedx-python-lib==7.6.2
decorator==5.3.1
defusedxml==0.7.1
docker==7.2.0
dockerfile-parse==2.0.1
dpath==2.1.3
ecdsa==0.19.2
frozenlist==1.8.0
gitdb==4.0.12
GitPython==3.2.1
idna==3.20
importlib_metadata==7.2.1
importlib_resources==7.1.0
Jinja2==3.1.6
jmespath==1.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
junit-xml==1.9
kubernetes-validate==1.37.0
lark==1.3.1
license-expression==30.4.4
Markdown==3.11.3
MarkupSafe==3.0.4
multidict==7.2.1
networkx==2.6.3
numpy==2.4.6
orjson==3.13.0
packageurl-python==0.13.4
packaging==23.2
platformdirs==4.14.7
ply==3.11
policy_sentry==0.13.2
prettytable==3.18.0
propcache==0.5.4
py-serializable==1.1.2
pycares==4.11.0
pycep-parser==0.5.1
pycparser==3.12
pydantic==2.14.3
pydantic_core==2.50.4
pyparsing==3.3.3
python-dateutil==2.9.0.post0
python-hcl2==8.1.4
PyYAML==6.0.3
rdflib==7.6.0
referencing==0.37.0
regex==2026.11.15
requests==2.34.2
rpds-py==2026.9.1
rustworkx==0.18.1
s3transfer==0.10.4
schema==0.7.5
semantic-version==2.10.0
six==1.17.0
smmap==5.0.3
sortedcontainers==2.4.0
soupsieve==4.1.2
spdx-tools==0.8.5
tabulate==0.9.0
termcolor==2.3.0
tqdm==4.70.1
typing-inspection==0.4.5
typing_extensions==4.16.0
unidiff==1.0.1
uritools==6.1.4
urllib3==2.8.0
wcwidth==0.9.4
xmltodict==1.0.4
yarl==1.25.1
zipp==4.1.2'

setup_venv() {
  step "0. Python tools in ${VENV#"$REPO_ROOT"/}"
  local stamp="$VENV/.requirements-stamp"
  local wanted
  wanted="$(printf '%s\n%s\n' "$REQUIREMENTS" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$PY" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    echo "venv up to date"
    return 0
  fi
  mkdir -p "$CACHE_DIR"
  if [[ ! -x "$PY" ]]; then
    python3 -m venv "$VENV" || { echo "cannot create venv (is python3-venv installed?)" >&2; return 1; }
  fi
  printf '%s\n' "$REQUIREMENTS" >"$VENV/requirements.txt"
  printf '%s\n' "$CONSTRAINTS" >"$VENV/constraints.txt"
  "$PY" -m pip install --quiet --disable-pip-version-check \
    -r "$VENV/requirements.txt" -c "$VENV/constraints.txt" || return 1
  echo "$wanted" >"$stamp"
  echo "installed: $(printf '%s' "$REQUIREMENTS" | tr '\n' ' ')"
}

if ! setup_venv; then
  echo "FATAL: could not install the validation tools" >&2
  exit 2
fi

# --- 1. terraform syntax -----------------------------------------------------------------------

step "1. Terraform: parse every .tf/.tfvars/.tftest.hcl with python-hcl2"
if "$PY" - <<'PYEOF'; then
import sys
from pathlib import Path

import hcl2

root = Path("terraform")
files = sorted(p for p in root.rglob("*") if p.is_file() and ".terraform" not in p.parts
               and (p.suffix in (".tf", ".tfvars") or p.name.endswith((".tfvars.example", ".tftest.hcl"))))
errors = 0
declared = set()
for path in files:
    try:
        with path.open(encoding="utf-8") as handle:
            doc = hcl2.load(handle)
    except Exception as error:  # any parse error fails the step
        print(f"PARSE ERROR {path}: {error}")
        errors += 1
        continue
    if path.parent == root and path.suffix == ".tf":
        for block in doc.get("variable", []):
            declared.update(block.keys())
print(f"parsed {len(files) - errors}/{len(files)} files; root module declares {len(declared)} variables")

# tfvars: every assignment must name a declared root variable (a typo would otherwise only
# be a warning at plan time, and the setting silently ignored).
for path in files:
    if path.suffix in (".tf", ".hcl"):
        continue
    with path.open(encoding="utf-8") as handle:
        names = set(hcl2.load(handle).keys())
    unknown = sorted(names - declared)
    if unknown:
        print(f"UNDECLARED in {path}: {', '.join(unknown)}")
        errors += 1
    else:
        print(f"{path}: {len(names)} settings, all declared")
sys.exit(1 if errors else 0)
PYEOF
  SUMMARY+=("terraform parse (python-hcl2): ok")
else
  fail "terraform parse (python-hcl2)"
fi

if command -v terraform >/dev/null 2>&1; then
  export TF_IN_AUTOMATION=1
  # An empty CLI config silences the warning about a missing ~/.terraformrc.
  export TF_CLI_CONFIG_FILE="$CACHE_DIR/terraformrc"
  : >"$TF_CLI_CONFIG_FILE"
  echo "terraform $(terraform version -json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])')"
  if terraform fmt -check -recursive -diff terraform; then
    SUMMARY+=("terraform fmt -check: ok")
  else
    fail "terraform fmt -check"
  fi
  # `terraform validate` needs the AWS provider plugin. Only a local mirror is used (no
  # registry download): TF_PLUGIN_DIR, or /opt/tf-plugins where the project machines have one.
  PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
  if compgen -G "$PLUGIN_DIR/registry.terraform.io/hashicorp/aws/5.*" >/dev/null; then
    # Validate a copy, so no .terraform/ or lock file appears in the source tree.
    TF_WORK="$CACHE_DIR/tf-validate"
    rm -rf "$TF_WORK" && mkdir -p "$TF_WORK" && cp -r terraform/. "$TF_WORK/"
    if terraform -chdir="$TF_WORK" init -backend=false -input=false -no-color \
      -plugin-dir="$PLUGIN_DIR" >"$CACHE_DIR/tf-init.log" 2>&1 \
      && terraform -chdir="$TF_WORK" validate -no-color; then
      SUMMARY+=("terraform validate (provider mirror $PLUGIN_DIR): ok")
      # Plan-level tests with a mocked provider (terraform/tests), once per example var
      # file: evaluates counts, for_each keys, preconditions and validations for real inputs.
      for varfile in terraform.tfvars.example examples/cost-optimized/terraform.tfvars; do
        if terraform -chdir="$TF_WORK" test -no-color -var-file="$varfile" >"$CACHE_DIR/tf-test.log" 2>&1; then
          echo "terraform test -var-file=$varfile: $(tail -n 1 "$CACHE_DIR/tf-test.log")"
          SUMMARY+=("terraform test (mocked provider, $varfile): ok")
        else
          cat "$CACHE_DIR/tf-test.log" >&2
          fail "terraform test -var-file=$varfile"
        fi
      done
    else
      cat "$CACHE_DIR/tf-init.log" >&2
      fail "terraform validate"
    fi
  else
    note "no AWS provider mirror in $PLUGIN_DIR: terraform validate NOT run (set TF_PLUGIN_DIR)"
    SUMMARY+=("terraform validate: not run (no provider mirror)")
  fi
else
  note "no terraform binary: terraform fmt/validate NOT run (python-hcl2 parse and checkov still are)"
  SUMMARY+=("terraform fmt/validate: not run (no terraform binary)")
fi

# --- 2. checkov on sources ---------------------------------------------------------------------

mkdir -p "$REPORT_DIR"
# checkov_run NAME ARGS...: runs checkov with JSON output and prints passed/failed/skipped.
checkov_run() {
  local name="$1"
  shift
  local out="$REPORT_DIR/checkov-$name.json"
  "$VENV/bin/checkov" "$@" --output json --skip-download --quiet --compact >"$out" 2>"$REPORT_DIR/checkov-$name.stderr"
  "$PY" - "$name" "$out" <<'PYEOF'
import json
import sys

name, path = sys.argv[1], sys.argv[2]
try:
    data = json.load(open(path, encoding="utf-8"))
except (OSError, json.JSONDecodeError) as error:
    print(f"checkov {name}: no JSON report ({error}); see {path.replace('.json', '.stderr')}")
    sys.exit(1)
reports = data if isinstance(data, list) else [data]
totals = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}
for report in reports:
    for key in totals:
        totals[key] += report.get("summary", {}).get(key, 0)
    for check in report.get("results", {}).get("failed_checks", []):
        print(f"  FAILED {check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]}): {check['check_name']}")
print(f"checkov {name}: passed {totals['passed']}, failed {totals['failed']}, skipped {totals['skipped']}, parse errors {totals['parsing_errors']}")
with open(path.replace(".json", ".summary"), "w", encoding="utf-8") as handle:
    handle.write(f"passed {totals['passed']}, failed {totals['failed']}, skipped {totals['skipped']}")
sys.exit(1 if totals["failed"] or totals["parsing_errors"] or totals["passed"] == 0 else 0)
PYEOF
}

step "2. checkov: terraform, kubernetes sources, Dockerfile"
for spec in "terraform|-d terraform --framework terraform" \
            "kubernetes|-d k8s --framework kubernetes" \
            "dockerfile|-f Dockerfile --framework dockerfile"; do
  name="${spec%%|*}"
  # shellcheck disable=SC2086  # the argument list is meant to be split
  if checkov_run "$name" ${spec#*|}; then
    SUMMARY+=("checkov $name: $(cat "$REPORT_DIR/checkov-$name.summary")")
  else
    fail "checkov $name"
  fi
done

# Every skip must say why, in words: `#checkov:skip=ID:reason` in Terraform and the
# Dockerfile, the `checkov.io/skipN: ID=reason` annotation in Kubernetes YAML (checkov's
# Kubernetes runner reads skips only from annotations).
echo "skips and their reasons:"
if "$PY" - <<'PYEOF'; then
import re
import sys
from pathlib import Path

patterns = [
    re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z0-9_]+)(?::(.*))?$"),
    re.compile(r"checkov\.io/skip\d+:\s*(CKV2?_[A-Z0-9_]+)(?:=(.*))?$"),
]
files = [p for p in list(Path("terraform").rglob("*.tf")) + list(Path("k8s").rglob("*.yaml")) + [Path("Dockerfile")]
         if ".terraform" not in p.parts]
bad = 0
count = 0
for path in sorted(files):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for pattern in patterns:
            match = pattern.search(line.strip())
            if match:
                count += 1
                reason = (match.group(2) or "").strip()
                ok = len(reason.split()) >= 5
                bad += not ok
                print(f"  {'ok ' if ok else 'BAD'} {path}:{number} {match.group(1)}: {reason or '(no reason)'}")
print(f"{count} skips, {bad} without a real reason (needs at least five words)")
sys.exit(1 if bad else 0)
PYEOF
  SUMMARY+=("checkov skip reasons: ok")
else
  fail "checkov skip reasons"
fi

# --- 3. render, schema-validate and scan the Kubernetes overlays ---------------------------------

step "3. Kubernetes: render overlays, validate against Kubernetes $K8S_VERSION, scan rendered output"
rm -rf "$RENDER_DIR" && mkdir -p "$RENDER_DIR"
render_ok=1
for dir in k8s/base k8s/overlays/*/; do
  dir="${dir%/}"
  name="$(basename "$dir")"
  if "$PY" scripts/kustomize_render.py "$dir" -o "$RENDER_DIR/$name.yaml"; then
    echo "rendered $dir -> ${RENDER_DIR#"$REPO_ROOT"/}/$name.yaml ($(grep -c '^kind:' "$RENDER_DIR/$name.yaml") objects)"
  else
    render_ok=0
    fail "render $dir"
  fi
done

# Cross-check the Python renderer against real kustomize where one exists.
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  for dir in k8s/base k8s/overlays/*/; do
    dir="${dir%/}"
    name="$(basename "$dir")"
    if ! kubectl kustomize "$dir" >"$RENDER_DIR/$name.kubectl.yaml" 2>"$RENDER_DIR/$name.kubectl.stderr"; then
      cat "$RENDER_DIR/$name.kubectl.stderr" >&2
      fail "kubectl kustomize $dir"
      continue
    fi
    if "$PY" - "$RENDER_DIR/$name.yaml" "$RENDER_DIR/$name.kubectl.yaml" <<'PYEOF'; then
import sys

import yaml

def load(path):
    with open(path, encoding="utf-8") as handle:
        return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d
                for d in yaml.safe_load_all(handle) if d}

ours, theirs = load(sys.argv[1]), load(sys.argv[2])
diff = sorted(set(ours) ^ set(theirs)) + sorted(k for k in set(ours) & set(theirs) if ours[k] != theirs[k])
for key in diff:
    print(f"  differs: {key}")
sys.exit(1 if diff else 0)
PYEOF
      echo "kubectl kustomize $dir: identical to scripts/kustomize_render.py"
    else
      fail "renderer differs from kubectl kustomize for $dir"
    fi
  done
  SUMMARY+=("renderer vs kubectl kustomize ($(kubectl version --client -o json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("kustomizeVersion","?"))')): compared")
else
  note "kubectl not installed: rendered with scripts/kustomize_render.py only (no cross-check)"
  SUMMARY+=("renderer vs kubectl kustomize: not compared (no kubectl)")
fi

if [[ $render_ok == 1 ]]; then
  # Schema validation. Custom resources (ExternalSecret, SecretStore, ServiceMonitor) have
  # no schema in kubernetes-validate; they are reported as warnings and checked for their
  # required fields by the invariants step below.
  if "$VENV/bin/kubernetes-validate" --kubernetes-version "$K8S_VERSION" --strict --quiet \
    "$RENDER_DIR"/base.yaml "$RENDER_DIR"/dev.yaml "$RENDER_DIR"/prod.yaml; then
    total=$(cat "$RENDER_DIR"/{base,dev,prod}.yaml | grep -c '^kind:')
    crds=$(cat "$RENDER_DIR"/{base,dev,prod}.yaml | grep -cE '^kind: (ExternalSecret|SecretStore|ServiceMonitor)$')
    echo "kubernetes-validate $K8S_VERSION (strict): $((total - crds)) objects valid; $crds custom resources skipped (no schema: ExternalSecret, SecretStore, ServiceMonitor)"
    SUMMARY+=("kubernetes-validate $K8S_VERSION --strict: $((total - crds)) objects valid, $crds CRs skipped")
  else
    fail "kubernetes-validate"
  fi

  echo "deployment invariants:"
  if "$PY" - "$RENDER_DIR" <<'PYEOF'; then
import ipaddress
import re
import sys
from pathlib import Path

import hcl2
import yaml

problems = []
checked = 0

# vpc_cidr of every example var file (default 10.40.0.0/16 when a file does not set it).
vpc_cidrs = set()
for varfile in [Path("terraform/terraform.tfvars.example"), *Path("terraform/examples").rglob("*.tfvars")]:
    with varfile.open(encoding="utf-8") as handle:
        value = hcl2.load(handle).get("vpc_cidr", "10.40.0.0/16")
    # python-hcl2 wraps each attribute value in a one-element list.
    vpc_cidrs.add(value[0] if isinstance(value, list) else value)

# MSK client authentication of every example var file: scram (the default), port 9096. The
# variable's validation refuses iam at plan time; this catches it without terraform too.
msk_modes = set()
for varfile in [Path("terraform/terraform.tfvars.example"), *Path("terraform/examples").rglob("*.tfvars")]:
    with varfile.open(encoding="utf-8") as handle:
        value = hcl2.load(handle).get("msk_auth_mode", "scram")
    msk_modes.add(value[0] if isinstance(value, list) else value)
msk_port = 9096

def need(condition, where, message):
    global checked
    checked += 1
    if not condition:
        problems.append(f"{where}: {message}")

for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    if path.name.endswith(".kubectl.yaml"):
        continue
    objects = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    tag = path.stem

    # Workloads: the hardening the brief asks for, on every pod.
    for obj in by_kind.get("Deployment", []) + by_kind.get("StatefulSet", []):
        where = f"{tag} {obj['kind']}/{obj['metadata']['name']}"
        pod = obj["spec"]["template"]["spec"]
        need(pod.get("automountServiceAccountToken") is False, where, "automountServiceAccountToken must be false")
        psc = pod.get("securityContext", {})
        need(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532, where, "pod must run as non-root uid 65532")
        need(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where, "seccompProfile RuntimeDefault")
        tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for c in pod["containers"]:
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext", {})
            need(sc.get("readOnlyRootFilesystem") is True, cw, "readOnlyRootFilesystem")
            need(sc.get("allowPrivilegeEscalation") is False, cw, "allowPrivilegeEscalation false")
            need(sc.get("capabilities", {}).get("drop") == ["ALL"], cw, "capabilities drop ALL")
            need(all(k in c.get("resources", {}).get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")), cw, "cpu/memory requests and limits")
            need(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health", cw, "liveness probe on /health")
            need(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/ready", cw, "readiness probe on /ready")
            need(any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c.get("volumeMounts", [])), cw, "/tmp on an emptyDir")
            image = c["image"]
            need(("@sha256:" in image) or (":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")), cw, f"image {image} needs an explicit tag or digest")
    for obj in by_kind.get("ServiceAccount", []):
        need(obj.get("automountServiceAccountToken") is False, f"{tag} ServiceAccount/{obj['metadata']['name']}", "automountServiceAccountToken false")
        # The OMS pods call no AWS API (MSK with SASL/SCRAM, terraform/iam.tf creates no role
        # for them): an IRSA annotation would name a role that does not exist.
        need("eks.amazonaws.com/role-arn" not in obj["metadata"].get("annotations", {}), f"{tag} ServiceAccount/{obj['metadata']['name']}", "no IRSA role annotation (the OMS pods call no AWS API)")

    # Engine shard journals on ONE shared ReadWriteMany EFS volume: the new owner of a
    # partition (any pod, any AZ) must open that shard's directory (docs/adr/0003-scale-out.md,
    # point 4). Per-pod volumeClaimTemplates would strand a shard on a dead pod's volume.
    pvcs = {o["metadata"]["name"]: o for o in by_kind.get("PersistentVolumeClaim", [])}
    classes = {o["metadata"]["name"]: o for o in by_kind.get("StorageClass", [])}
    for obj in by_kind.get("StatefulSet", []):
        where = f"{tag} StatefulSet/{obj['metadata']['name']}"
        pod = obj["spec"]["template"]["spec"]
        need(not obj["spec"].get("volumeClaimTemplates"), where, "no per-pod volumeClaimTemplates: every engine must reach every shard")
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
        for c in pod["containers"]:
            args = c.get("args", [])
            data_dir = args[args.index("--data-dir") + 1] if "--data-dir" in args[:-1] else "/var/lib/oms"
            mounts = [m for m in c.get("volumeMounts", []) if m["mountPath"].rstrip("/") == data_dir.rstrip("/")]
            need(len(mounts) == 1 and mounts[0]["name"] in claims, where, f"data dir {data_dir} must be a PersistentVolumeClaim mount")
            pvc = pvcs.get(claims.get(mounts[0]["name"])) if mounts else None
            need(pvc is not None, where, f"the claim mounted at {data_dir} must be in the manifests")
            if pvc is None:
                continue
            need(pvc["spec"].get("accessModes") == ["ReadWriteMany"], where, f"PVC {pvc['metadata']['name']} must be ReadWriteMany")
            sc = classes.get(pvc["spec"].get("storageClassName"), {})
            params = sc.get("parameters", {})
            need(sc.get("provisioner") == "efs.csi.aws.com", where, "shard volume on an EFS StorageClass (efs.csi.aws.com)")
            need(sc.get("reclaimPolicy") == "Retain", where, "shard StorageClass reclaimPolicy Retain (a deleted claim must not delete journals)")
            need(params.get("provisioningMode") == "efs-ap" and params.get("uid") == "65532" and params.get("gid") == "65532"
                 and params.get("directoryPerms") == "700", where, "EFS access point as uid/gid 65532, directoryPerms 700")
            need("tls" in sc.get("mountOptions", []), where, "EFS mounted with tls (encryption in transit)")
            need(re.fullmatch(r"fs-[0-9a-f]{8,}", params.get("fileSystemId", "")) is not None, where, "fileSystemId fs-<hex>")

    # The market ConfigMap and the API key Secret (their use per role is checked by
    # scripts/check_manifest_flags.py, which also runs the market through the binary).
    markets = [o for o in by_kind.get("ConfigMap", []) if o["metadata"]["name"] == "oms-market"]
    need(len(markets) == 1 and "market.toml" in markets[0].get("data", {}), tag, "ConfigMap oms-market with market.toml")
    need(all(o.get("immutable") is True for o in markets), tag, "ConfigMap oms-market immutable (journals were created from it)")
    key_secrets = [o for o in by_kind.get("ExternalSecret", []) if o["spec"].get("target", {}).get("name") == "oms-api-keys"]
    need(len(key_secrets) == 1 and [d["secretKey"] for d in key_secrets[0]["spec"].get("data", [])] == ["keys.toml"], tag, "ExternalSecret writing oms-api-keys/keys.toml")

    # Kafka: TLS + SASL/SCRAM on MSK's SCRAM port, the credentials from the AWS secret MSK
    # associates (AmazonMSK_ prefix). Which roles get which variables is checked by
    # scripts/check_manifest_flags.py.
    config = next((o.get("data", {}) for o in by_kind.get("ConfigMap", []) if o["metadata"]["name"] == "oms-config"), {})
    need(config.get("OMS_KAFKA_SECURITY") == "scram-sha-512", tag, "oms-config OMS_KAFKA_SECURITY scram-sha-512 (MSK offers SCRAM-SHA-512 only)")
    kafka_ports = {b.rsplit(":", 1)[-1] for b in config.get("OMS_KAFKA", "").split(",") if b}
    need(kafka_ports == {str(msk_port)}, tag, f"OMS_KAFKA brokers on port {msk_port} (MSK SASL/SCRAM), got {sorted(kafka_ports)}")
    kafka_secrets = [o for o in by_kind.get("ExternalSecret", []) if o["spec"].get("target", {}).get("name") == "oms-kafka-credentials"]
    need(len(kafka_secrets) == 1, tag, "one ExternalSecret writing oms-kafka-credentials")
    for obj in kafka_secrets:
        data = {d["secretKey"]: d.get("remoteRef", {}) for d in obj["spec"].get("data", [])}
        need(set(data) == {"username", "password"} and all(r.get("property") == k for k, r in data.items()), tag,
             "ExternalSecret oms-kafka-credentials: username and password from the properties of the same names")
        need(all(r.get("key", "").startswith("AmazonMSK_") for r in data.values()) and len({r.get("key") for r in data.values()}) == 1, tag,
             "ExternalSecret oms-kafka-credentials reads one AmazonMSK_* secret (the one associated with the cluster)")

    # Disruption budgets and autoscaling.
    pdb_targets = {o["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") for o in by_kind.get("PodDisruptionBudget", [])}
    need({"ingress", "engine"} <= pdb_targets, tag, "PodDisruptionBudgets for ingress and engine")
    hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", []) if h["spec"]["scaleTargetRef"]["name"] == "oms-ingress"]
    need(len(hpas) == 1 and hpas[0]["spec"]["metrics"][0]["resource"]["name"] == "cpu", tag, "CPU HPA for oms-ingress")

    # Network: default deny plus per-role policies.
    policies = {o["metadata"]["name"]: o for o in by_kind.get("NetworkPolicy", [])}
    deny = policies.get("default-deny-all", {}).get("spec", {})
    need(deny.get("podSelector") == {} and set(deny.get("policyTypes", [])) == {"Ingress", "Egress"} and not deny.get("ingress") and not deny.get("egress"), tag, "default-deny-all NetworkPolicy")
    for role in ("oms-ingress", "oms-engine", "oms-persister"):
        need(role in policies, tag, f"NetworkPolicy {role}")
    # Egress to the VPC: Kafka on the MSK SCRAM port only (no 9094/9098, no 443 now that no
    # OMS pod has an IRSA role), plus each role's own store.
    own_ports = {"oms-ingress": {msk_port, 6379}, "oms-engine": {msk_port}, "oms-persister": {msk_port, 27017}}
    for role, wanted in own_ports.items():
        ports = {p.get("port") for rule in policies.get(role, {}).get("spec", {}).get("egress", [])
                 if any("ipBlock" in peer for peer in rule.get("to", [])) for p in rule.get("ports", [])}
        need(ports == wanted, f"{tag} NetworkPolicy/{role}", f"VPC egress ports {sorted(wanted)}, got {sorted(ports)}")
    engine_in = policies.get("oms-engine", {}).get("spec", {}).get("ingress", [])
    need(all("ipBlock" not in peer for rule in engine_in for peer in rule.get("from", [])), tag, "engines accept no traffic from IP blocks (metrics from the monitoring namespace only)")

    # NetworkPolicy CIDRs must match the VPC terraform builds: every ipBlock inside
    # vpc_cidr, and the ALB source block equal to the public-subnet range
    # (cidrsubnet(vpc_cidr, 4, 0) in terraform/modules/vpc).
    for vpc_cidr in vpc_cidrs:
        vpc = ipaddress.ip_network(vpc_cidr)
        public = list(vpc.subnets(new_prefix=vpc.prefixlen + 4))[0]
        for name, policy in policies.items():
            for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
                for peer in rule.get("from", []) + rule.get("to", []):
                    if "ipBlock" in peer:
                        block = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                        need(block.subnet_of(vpc), f"{tag} NetworkPolicy/{name}", f"ipBlock {block} outside vpc_cidr {vpc}")
        alb_sources = [peer["ipBlock"]["cidr"] for rule in policies.get("oms-ingress", {}).get("spec", {}).get("ingress", [])
                       for peer in rule.get("from", []) if "ipBlock" in peer]
        need(alb_sources == [str(public)], tag, f"oms-ingress accepts the ALB from {alb_sources}, expected the public subnets {public}")

    # ALB ingress: TLS, redirect, header hygiene, logs; paths /api, /ws, /.
    for obj in by_kind.get("Ingress", []):
        where = f"{tag} Ingress/{obj['metadata']['name']}"
        ann = obj["metadata"].get("annotations", {})
        need(obj["spec"].get("ingressClassName") == "alb", where, "ingressClassName alb")
        need(ann.get("alb.ingress.kubernetes.io/ssl-redirect") == "443", where, "80 -> 443 redirect")
        need(ann.get("alb.ingress.kubernetes.io/certificate-arn", "").startswith("arn:aws:acm:"), where, "ACM certificate annotation")
        need("TLS13" in ann.get("alb.ingress.kubernetes.io/ssl-policy", ""), where, "TLS 1.2/1.3 policy")
        attrs = ann.get("alb.ingress.kubernetes.io/load-balancer-attributes", "")
        need("routing.http.drop_invalid_header_fields.enabled=true" in attrs, where, "drop invalid header fields")
        need("access_logs.s3.enabled=true" in attrs, where, "access logs")
        paths = {p["path"] for r in obj["spec"]["rules"] for p in r["http"]["paths"]}
        need(paths == {"/api", "/ws", "/"}, where, f"paths /api /ws / (got {sorted(paths)})")

    # Custom resources kubernetes-validate has no schema for: required fields.
    for obj in by_kind.get("ExternalSecret", []):
        spec = obj["spec"]
        need(bool(spec.get("secretStoreRef", {}).get("name")) and bool(spec.get("target", {}).get("name")), f"{tag} ExternalSecret", "secretStoreRef and target")
        need(all(d.get("secretKey") and d.get("remoteRef", {}).get("key") for d in spec.get("data", [])), f"{tag} ExternalSecret", "data[].secretKey and remoteRef.key")
    for obj in by_kind.get("SecretStore", []):
        need(obj["spec"].get("provider", {}).get("aws", {}).get("service") == "SecretsManager", f"{tag} SecretStore", "AWS Secrets Manager provider")
    for obj in by_kind.get("ServiceMonitor", []):
        need(obj["apiVersion"] == "monitoring.coreos.com/v1", f"{tag} ServiceMonitor", "monitoring.coreos.com/v1")
        need(all(e.get("path") == "/metrics" and e.get("port") for e in obj["spec"].get("endpoints", [])), f"{tag} ServiceMonitor", "endpoints scrape /metrics on a named port")

    # No Secret objects with data in the manifests: secrets are referenced, never committed.
    for obj in by_kind.get("Secret", []):
        need(not obj.get("data") and not obj.get("stringData"), f"{tag} Secret/{obj['metadata']['name']}", "no secret values in manifests")

need(msk_modes == {"scram"}, "terraform example var files", f"msk_auth_mode scram (the only mode the oms binary supports), got {sorted(msk_modes)}")

for problem in problems:
    print(f"  VIOLATION {problem}")
print(f"  {checked} invariant checks, {len(problems)} violations")
sys.exit(1 if problems else 0)
PYEOF
    SUMMARY+=("deployment invariants: ok")
  else
    fail "deployment invariants"
  fi

  # Files, not -d: checkov skips directories whose name starts with a dot (.cache).
  if checkov_run rendered -f "$RENDER_DIR/base.yaml" -f "$RENDER_DIR/dev.yaml" -f "$RENDER_DIR/prod.yaml" --framework kubernetes; then
    SUMMARY+=("checkov rendered overlays: $(cat "$REPORT_DIR/checkov-rendered.summary")")
  else
    fail "checkov rendered overlays"
  fi
fi

# --- 4. flags passed to the binary ---------------------------------------------------------------

step "4. oms flags, OMS_* variables and market files in manifests and Dockerfile"
flag_args=()
if [[ -n "${OMS_BINARY:-}" ]]; then
  flag_args=("$OMS_BINARY")
elif [[ -x target/release/oms ]]; then
  note "using the local build target/release/oms (set OMS_BINARY to choose another)"
  flag_args=(target/release/oms)
fi
if "$PY" scripts/check_manifest_flags.py "${flag_args[@]}"; then
  if [[ ${#flag_args[@]} -eq 0 ]]; then
    SUMMARY+=("oms flags/env: ok against the CLI CONTRACT (no binary; market files parsed as TOML only)")
  else
    SUMMARY+=("oms flags/env: ok against ${flag_args[0]} serve --help; market files accepted by it")
  fi
else
  fail "oms flags/env"
fi

# --- summary ------------------------------------------------------------------------------------

step "summary"
for line in "${SUMMARY[@]}"; do
  echo "  $line"
done
if [[ ${#FAILED_STEPS[@]} -gt 0 ]]; then
  echo "FAILED: ${FAILED_STEPS[*]}"
  exit 1
fi
echo "deploy validation passed"
