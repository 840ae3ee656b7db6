#!/usr/bin/env python3
"""Check that the deployment passes the `oms` binary only flags and OMS_* variables it accepts.

What is collected:
  - every container running the oms image in the rendered Kubernetes manifests (both
    overlays and the base, rendered with scripts/kustomize_render.py unless --manifest
    files are given): its command/args, its env entries, and the keys of every ConfigMap it
    loads with envFrom;
  - the Dockerfile's ENTRYPOINT/CMD and ENV.

What it is checked against:
  - with OMS_BINARY given: the flags (and, if clap prints them, the [env: ...] names and
    [possible values: ...]) parsed from `OMS_BINARY serve --help`;
  - without it: the CLI contract agreed for the binary, written out below, and the script
    says so loudly, because then it proves agreement with the contract, not with the code.

Beyond names it checks values it can (role, fsync policy, listen addresses, demo flag,
Kafka security mode), that credentials (OMS_REDIS, OMS_MONGO, OMS_KAFKA_SASL_USERNAME,
OMS_KAFKA_SASL_PASSWORD) come only from secretKeyRef and never as command-line flags, that
every referenced ConfigMap / Secret key exists (the Secret's keys being those its
ExternalSecret writes), that each workload's --role matches its app.kubernetes.io/component
label, and that the engine's data directory is a mounted volume (the root filesystem is
read-only).

Kafka security: every container given brokers (--kafka / OMS_KAFKA) must also be given an
explicit --kafka-security / OMS_KAFKA_SECURITY that is not plaintext (MSK has no plaintext
listener), with SCRAM both OMS_KAFKA_SASL_USERNAME and OMS_KAFKA_SASL_PASSWORD from one
Secret and without SCRAM neither (the binary refuses both mismatches at start), and every
such container of a manifest set must use the same mode and the same Secret keys. With a
binary, each mode used is run through it: `oms serve --role persister --kafka 127.0.0.1:9
--market GOOD --kafka-security MODE` with dummy credentials must stop at the missing
--mongo, after a control run without the password has been refused for the credentials.

Files the binary reads at start: every role that needs a market (engine, persister,
ingress) must be given one (--market / OMS_MARKET) that resolves, through a read-only
volumeMount, to a key of a ConfigMap in the manifests; the ingress must be given API keys
(--api-keys / OMS_API_KEYS) that resolve to a key of a Secret, and no other role may see
them. Every market file found that way is then run through the binary (with OMS_BINARY):
`oms serve --role persister --kafka 127.0.0.1:9 --market FILE` without --mongo loads and
checks the market (the same parser and scratch-engine check the engine uses) before it
stops at the missing --mongo, so a good file yields exactly that error and a bad one a
market error; a known-bad file is run first to prove this ordering still holds. Without a
binary the files are only parsed as TOML, and the script says so.

Usage: check_manifest_flags.py [OMS_BINARY] [--manifest FILE ...] [--dockerfile FILE]
Exit status: 0 all good, 1 problems found, 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ from the import below
import kustomize_render  # noqa: E402  (sibling module, path set just above)

# The contract for `oms serve` (issue 9), used when no binary is available.
CONTRACT_FLAGS: dict[str, bool] = {  # flag -> takes a value
    "role": True,
    "listen": True,
    "tcp-listen": True,
    "data-dir": True,
    "fsync": True,
    "kafka": True,
    "redis": True,
    "mongo": True,
    "config": True,
    "demo": False,
    "market": True,
    "api-keys": True,
    "kafka-security": True,
    "kafka-sasl-username": True,
    "kafka-sasl-password": True,
}
EXTRA_ENV = {"OMS_LOG"}  # tracing filter: an env var without a flag
ROLES = {"all", "ingress", "engine", "persister"}
SUBCOMMANDS = {"serve"}
# Values that carry credentials and so must never be literal, come from a ConfigMap, or be
# passed as flags (a flag shows in the pod spec and the process list).
SECRET_ENV = {"OMS_REDIS", "OMS_MONGO", "OMS_KAFKA_SASL_USERNAME", "OMS_KAFKA_SASL_PASSWORD"}
# --kafka-security (bins/oms/src/config.rs); SCRAM modes need the two SASL credentials.
KAFKA_SECURITY = {"plaintext", "tls", "scram-sha-512", "scram-sha-256"}
SCRAM_MODES = {"scram-sha-512", "scram-sha-256"}
SASL_ENV = ("OMS_KAFKA_SASL_USERNAME", "OMS_KAFKA_SASL_PASSWORD")
FSYNC_RE = re.compile(r"^(batch|none|interval:[1-9][0-9]*)$")
ADDR_RE = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# Roles that refuse to start without a market definition, and the one that needs API keys
# (bins/oms/src/main.rs), unless --demo brings both.
NEEDS_MARKET = {"engine", "persister", "ingress"}
NEEDS_KEYS = {"ingress"}
KEY_ROLES = {"ingress", "all"}  # the only roles that may be given the API keys
# A market file the binary must refuse (tick-size is not a decimal): the control that shows
# the binary still reads --market before it asks for --mongo.
BROKEN_MARKET = """[[asset]]
id = 0
code = "USD"
scale = 6

[[asset]]
id = 1
code = "BTC"
scale = 8

[[instrument]]
id = 0
symbol = "BTC-USD"
base = "BTC"
quote = "USD"
tick-size = "not-a-decimal"
lot-size = "0.0001"
quantity-max = "100"
notional-min = "1"
notional-max = "1000000"
reference-price = "60000"
"""
MONGO_ERROR = "--role persister needs --mongo"


def env_name(flag: str) -> str:
    return "OMS_" + flag.upper().replace("-", "_")


@dataclass
class Accepted:
    source: str
    flags: dict[str, bool]
    env: set[str]
    roles: set[str] = field(default_factory=lambda: set(ROLES))
    kafka_security: set[str] = field(default_factory=lambda: set(KAFKA_SECURITY))


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    # Market file text -> where it is used, for the binary check at the end.
    markets: dict[str, list[str]] = field(default_factory=dict)
    # Manifest set -> (security mode, username ref, password ref) -> containers using it.
    kafka: dict[str, dict[tuple[str, str, str], list[str]]] = field(default_factory=dict)

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


# --- what the binary accepts ---------------------------------------------------------------


def accepted_from_contract() -> Accepted:
    env = {env_name(f) for f in CONTRACT_FLAGS} | EXTRA_ENV
    return Accepted("CLI contract, no binary given", dict(CONTRACT_FLAGS), env)


def accepted_from_binary(binary: Path) -> Accepted:
    result = subprocess.run(
        [str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    text = result.stdout + result.stderr
    if result.returncode != 0 or "--" not in text:
        raise RuntimeError(f"`{binary} serve --help` failed (exit {result.returncode}):\n{text}")
    flags: dict[str, bool] = {}
    env: set[str] = set()
    roles: set[str] = set()
    kafka_security: set[str] = set()
    for line in text.splitlines():
        match = re.match(r"^\s*(?:-\w,\s*)?--([a-z][a-z0-9-]*)(?:[ =]<?([A-Za-z_:|<>.-]+)>?)?", line)
        if match and match.group(1) not in ("help", "version"):
            flag = match.group(1)
            flags[flag] = match.group(2) is not None
            possible = re.search(r"\[possible values: ([^\]]+)\]", line)
            if possible and flag == "role":
                roles = {v.strip() for v in possible.group(1).split(",")}
            elif possible and flag == "kafka-security":
                kafka_security = {v.strip() for v in possible.group(1).split(",")}
        env.update(re.findall(r"\[env:\s*(OMS_[A-Z0-9_]+)", line))
    if not flags:
        raise RuntimeError(f"no --flags found in `{binary} serve --help`:\n{text}")
    if not env:  # clap without the env feature shown: fall back to the naming rule
        env = {env_name(f) for f in flags}
    env |= EXTRA_ENV
    return Accepted(
        f"`{binary} serve --help`", flags, env, roles or set(ROLES), kafka_security or set(KAFKA_SECURITY)
    )


# --- value checks --------------------------------------------------------------------------


def check_value(name: str, value: str, accepted: Accepted, where: str, report: Report) -> None:
    if name in ("OMS_ROLE", "--role") and value not in accepted.roles:
        report.fail(where, f"{name}={value!r} is not one of {sorted(accepted.roles)}")
    elif name in ("OMS_FSYNC", "--fsync") and not FSYNC_RE.match(value):
        report.fail(where, f"{name}={value!r} is not batch, none or interval:<ms>")
    elif name in ("OMS_LISTEN", "--listen", "OMS_TCP_LISTEN", "--tcp-listen"):
        match = ADDR_RE.match(value)
        if not match or not 0 < int(match.group(2)) < 65536:
            report.fail(where, f"{name}={value!r} is not HOST:PORT")
    elif name == "OMS_DEMO" and value.lower() not in ("true", "false", "1", "0"):
        report.fail(where, f"OMS_DEMO={value!r} is not a boolean")
    elif name in ("OMS_KAFKA_SECURITY", "--kafka-security") and value not in accepted.kafka_security:
        report.fail(where, f"{name}={value!r} is not one of {sorted(accepted.kafka_security)}")


def parse_args(argv: list[str], accepted: Accepted, where: str, report: Report) -> dict[str, str]:
    """Return {flag: value} for an `oms` argument vector (program name already removed)."""
    values: dict[str, str] = {}
    if not argv:
        return values
    if argv[0] not in SUBCOMMANDS:
        report.fail(where, f"first argument {argv[0]!r} is not a known subcommand {sorted(SUBCOMMANDS)}")
        return values
    index = 1
    while index < len(argv):
        token = argv[index]
        index += 1
        if not token.startswith("--"):
            report.fail(where, f"unexpected positional argument {token!r}")
            continue
        flag, _, inline_value = token[2:].partition("=")
        if flag not in accepted.flags:
            report.fail(
                where,
                f"unknown flag --{flag} (accepted: {', '.join('--' + f for f in sorted(accepted.flags))})",
            )
            continue
        if accepted.flags[flag]:
            if inline_value:
                value = inline_value
            elif index < len(argv) and not argv[index].startswith("--"):
                value = argv[index]
                index += 1
            else:
                report.fail(where, f"--{flag} needs a value")
                continue
            values[flag] = value
            if env_name(flag) in SECRET_ENV:
                report.fail(
                    where,
                    f"--{flag} passes a credential on the command line (pod spec, process list); "
                    f"use {env_name(flag)} from a secretKeyRef",
                )
            check_value("--" + flag, value, accepted, where, report)
        else:
            if inline_value:
                report.fail(where, f"--{flag} takes no value")
            values[flag] = "true"
        report.checked.append(f"{where}: --{flag}")
    return values


# --- Kubernetes ----------------------------------------------------------------------------


def is_oms_image(image: str) -> bool:
    return kustomize_render.image_name(image).rsplit("/", 1)[-1] == "oms"


def pod_spec_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec", {})
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    return spec.get("template", {}).get("spec")


def secret_keys(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Keys of each Secret as its ExternalSecret will write them (plus any literal Secret)."""
    keys: dict[str, set[str]] = {}
    for obj in objects:
        if obj["kind"] == "ExternalSecret":
            target = obj["spec"].get("target", {}).get("name", obj["metadata"]["name"])
            keys.setdefault(target, set()).update(d["secretKey"] for d in obj["spec"].get("data", []))
        elif obj["kind"] == "Secret":
            keys.setdefault(obj["metadata"]["name"], set()).update(
                obj.get("data", {}) | obj.get("stringData", {})
            )
    return keys


def mounted_file(
    path: str,
    pod: dict[str, Any],
    container: dict[str, Any],
    objects: list[dict[str, Any]],
    where: str,
    report: Report,
) -> tuple[str, str, str | None] | None:
    """Resolve a file path the binary reads to (volume kind, object name, text or None).

    The path must lie in a read-only volumeMount of a configMap or secret volume, and name
    a key that object has (through `items` when given). Text is returned for ConfigMaps
    (Secret values are never in the manifests)."""
    mounts = sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"]))
    mount = next(
        (m for m in mounts if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")), None
    )
    if mount is None:
        report.fail(where, f"{path} is not inside any volumeMount (the image has no such file)")
        return None
    if not mount.get("readOnly"):
        report.fail(where, f"volumeMount {mount['mountPath']} holding {path} should be readOnly")
    volume = next((v for v in pod.get("volumes", []) if v["name"] == mount["name"]), None)
    if volume is None:
        report.fail(where, f"volumeMount {mount['name']!r} has no volume")
        return None
    # A directory mount (the file is a key under it) or a single-file subPath mount.
    relative = path[len(mount["mountPath"].rstrip("/")) + 1 :]
    if mount.get("subPath"):
        relative = mount["subPath"] + ("/" + relative if relative else "")
    for kind, field_name, name_key in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
        if field_name not in volume:
            continue
        source = volume[field_name]
        name = source.get(name_key, "")
        items = source.get("items")
        key = next((i["key"] for i in items if i["path"] == relative), None) if items else relative
        if key is None:
            report.fail(where, f"{path}: {kind} volume {name!r} maps no item to {relative!r}")
            return None
        if kind == "ConfigMap":
            data = next(
                (o.get("data", {}) for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name),
                None,
            )
            if data is None:
                report.fail(where, f"{path}: ConfigMap {name!r} is not in the manifests")
                return None
            if key not in data:
                report.fail(where, f"{path}: ConfigMap {name!r} has no key {key!r}")
                return None
            return kind, name, str(data[key])
        if key not in secret_keys(objects).get(name, set()):
            report.fail(where, f"{path}: Secret {name!r} gets no key {key!r} from any ExternalSecret/Secret")
            return None
        return kind, name, None
    report.fail(where, f"{path} is on volume {volume['name']!r}, which is neither a ConfigMap nor a Secret")
    return None


def check_container(
    obj: dict[str, Any],
    pod: dict[str, Any],
    container: dict[str, Any],
    objects: list[dict[str, Any]],
    accepted: Accepted,
    label: str,
    report: Report,
) -> None:
    where = f"{label} {obj['kind']}/{obj['metadata']['name']} container {container['name']}"
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    secrets = secret_keys(objects)

    argv = list(container.get("command", [])[1:]) + list(container.get("args", []))
    flags = parse_args(argv, accepted, where, report)

    env: dict[str, str | None] = {}  # name -> literal value, None when not literal
    refs: dict[str, str] = {}  # name -> "Secret/key" for secretKeyRef entries
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            if name not in configmaps:
                report.fail(where, f"envFrom ConfigMap {name!r} is not in the manifests")
                continue
            for key, value in configmaps[name].items():
                if key in SECRET_ENV:
                    report.fail(
                        where, f"{key} comes from ConfigMap {name!r}; credentials must come from a Secret"
                    )
                env[key] = str(value)
        else:
            report.fail(
                where,
                "envFrom with a Secret hides which OMS_* names are set; use env[].valueFrom.secretKeyRef",
            )
    for entry in container.get("env", []):
        name = entry["name"]
        if "value" in entry:
            if name in SECRET_ENV:
                report.fail(where, f"{name} is a literal value; credentials must come from a secretKeyRef")
            env[name] = str(entry["value"])
        else:
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if name in SECRET_ENV and ref is None:
                report.fail(where, f"{name} must come from a secretKeyRef")
            if ref is not None and ref.get("key") not in secrets.get(ref["name"], set()):
                report.fail(
                    where,
                    f"{name}: Secret {ref['name']!r} gets no key {ref.get('key')!r} from any ExternalSecret/Secret",
                )
            if ref is not None:
                refs[name] = f"{ref['name']}/{ref.get('key')}"
            env[name] = None

    for name, value in env.items():
        if not name.startswith("OMS_"):
            continue
        if name not in accepted.env:
            report.fail(
                where, f"unknown environment variable {name} (accepted: {', '.join(sorted(accepted.env))})"
            )
            continue
        report.checked.append(f"{where}: {name}")
        if value is not None:
            check_value(name, value, accepted, where, report)

    check_kafka_security(flags, env, refs, label, where, report)

    role = flags.get("role") or env.get("OMS_ROLE") or "all"
    component = obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")
    if component and role != component:
        report.fail(
            where, f"role {role!r} does not match its app.kubernetes.io/component label {component!r}"
        )

    demo = (flags.get("demo") or env.get("OMS_DEMO") or "false").lower() in ("true", "1")
    market = flags.get("market") or env.get("OMS_MARKET")
    api_keys = flags.get("api-keys") or env.get("OMS_API_KEYS")
    if market:
        found = mounted_file(market, pod, container, objects, where, report)
        if found and found[0] != "ConfigMap":
            report.fail(where, f"market {market} comes from a {found[0]}; it is not secret, mount a ConfigMap")
        elif found:
            report.markets.setdefault(found[2] or "", []).append(f"{where} ({found[0]} {found[1]})")
            report.checked.append(f"{where}: market file {market}")
    elif role in NEEDS_MARKET and not demo:
        report.fail(where, f"--role {role} refuses to start without --market/OMS_MARKET (or --demo)")
    if api_keys:
        if role not in KEY_ROLES:
            report.fail(where, f"--role {role} serves no API: it must not be given the API keys ({api_keys})")
        found = mounted_file(api_keys, pod, container, objects, where, report)
        if found and found[0] != "Secret":
            report.fail(where, f"API keys {api_keys} come from a {found[0]}; they belong in a Secret")
        elif found:
            report.checked.append(f"{where}: API keys file {api_keys}")
    elif role in NEEDS_KEYS and not demo:
        report.fail(where, f"--role {role} refuses to start without --api-keys/OMS_API_KEYS (or --demo)")
    if role not in KEY_ROLES:
        for volume in pod.get("volumes", []):
            secret = volume.get("secret", {}).get("secretName", "")
            if "keys.toml" in secret_keys(objects).get(secret, set()):
                report.fail(where, f"--role {role} serves no API but mounts the API key Secret {secret!r}")

    if role in ("engine", "all"):
        data_dir = flags.get("data-dir") or env.get("OMS_DATA_DIR")
        mounts = {m["mountPath"].rstrip("/") for m in container.get("volumeMounts", [])}
        if not data_dir:
            report.fail(
                where, "engine without --data-dir/OMS_DATA_DIR would write its journal to the read-only image"
            )
        elif not any(data_dir.rstrip("/") == m or data_dir.startswith(m + "/") for m in mounts):
            report.fail(where, f"data dir {data_dir} is not on a mounted volume")


def check_kafka_security(
    flags: dict[str, str],
    env: dict[str, str | None],
    refs: dict[str, str],
    label: str,
    where: str,
    report: Report,
) -> None:
    """Brokers, security mode and SASL credentials of one container (see the module doc)."""
    has_brokers = "kafka" in flags or "OMS_KAFKA" in env
    security = flags.get("kafka-security") or env.get("OMS_KAFKA_SECURITY")
    given = [name for name in SASL_ENV if name in env]
    if not has_brokers:
        if security or given:
            report.fail(where, "Kafka security settings without --kafka/OMS_KAFKA: nothing would use them")
        return
    if security is None:
        report.fail(
            where,
            "gets Kafka brokers but no --kafka-security/OMS_KAFKA_SECURITY: the binary would connect "
            "in plaintext, which MSK does not offer (TLS only)",
        )
        return
    if security == "plaintext":
        report.fail(where, "OMS_KAFKA_SECURITY plaintext: MSK has no plaintext listener (client_broker = TLS)")
    if security in SCRAM_MODES:
        missing = [name for name in SASL_ENV if name not in refs]
        if missing:
            report.fail(
                where,
                f"OMS_KAFKA_SECURITY {security} needs {' and '.join(missing)} from a secretKeyRef "
                "(the binary refuses SCRAM without both credentials)",
            )
            return
        if len({refs[name].split("/", 1)[0] for name in SASL_ENV}) != 1:
            report.fail(
                where,
                "Kafka SASL username and password come from different Secrets: "
                + ", ".join(f"{name} from {refs[name]}" for name in SASL_ENV),
            )
    elif given:
        report.fail(
            where,
            f"{', '.join(given)} without a SCRAM OMS_KAFKA_SECURITY ({security}): the binary refuses "
            "credentials it would not use",
        )
        return
    settings = (security, refs.get(SASL_ENV[0], "-"), refs.get(SASL_ENV[1], "-"))
    report.kafka.setdefault(label, {}).setdefault(settings, []).append(where)
    report.checked.append(f"{where}: Kafka security {security}")


def check_kafka_consistency(report: Report) -> None:
    """Every container of a manifest set that talks to Kafka uses the same mode and Secret."""
    for label, variants in report.kafka.items():
        if len(variants) > 1:
            detail = "; ".join(
                f"{mode} user {user} password {password}: {len(users)} container(s), e.g. {users[0]}"
                for (mode, user, password), users in variants.items()
            )
            report.fail(label, f"roles disagree on the Kafka security settings: {detail}")


def check_manifests(sets: dict[str, list[dict[str, Any]]], accepted: Accepted, report: Report) -> int:
    containers = 0
    for label, objects in sets.items():
        for obj in objects:
            if obj["kind"] not in WORKLOAD_KINDS:
                continue
            pod = pod_spec_of(obj) or {}
            for container in pod.get("initContainers", []) + pod.get("containers", []):
                if is_oms_image(container.get("image", "")):
                    containers += 1
                    check_container(obj, pod, container, objects, accepted, label, report)
    check_kafka_consistency(report)
    return containers


# --- Dockerfile ----------------------------------------------------------------------------


def dockerfile_final_stage(path: Path) -> list[tuple[str, str]]:
    """(instruction, argument) pairs of the last stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    instructions: list[tuple[str, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        if keyword.upper() == "FROM":
            instructions = []
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def exec_form(argument: str) -> list[str]:
    try:
        value = json.loads(argument)
        if isinstance(value, list):
            return [str(v) for v in value]
    except json.JSONDecodeError:
        pass
    return shlex.split(argument)


def check_dockerfile(path: Path, accepted: Accepted, report: Report) -> None:
    where = f"{path.name}"
    entrypoint: list[str] = []
    cmd: list[str] = []
    for keyword, argument in dockerfile_final_stage(path):
        if keyword == "ENTRYPOINT":
            entrypoint = exec_form(argument)
        elif keyword == "CMD":
            cmd = exec_form(argument)
        elif keyword == "ENV":
            for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S+)", argument):
                if not name.startswith("OMS_"):
                    continue
                if name not in accepted.env:
                    report.fail(
                        where, f"ENV {name} is not accepted (accepted: {', '.join(sorted(accepted.env))})"
                    )
                    continue
                if name in SECRET_ENV:
                    report.fail(where, f"ENV {name} bakes a credential into the image")
                report.checked.append(f"{where}: ENV {name}")
                check_value(name, value.strip('"'), accepted, where, report)
    if not entrypoint or Path(entrypoint[0]).name != "oms":
        report.fail(where, f"ENTRYPOINT {entrypoint} does not run the oms binary")
        return
    parse_args(entrypoint[1:] + cmd, accepted, where + " ENTRYPOINT+CMD", report)


# --- market files through the binary ---------------------------------------------------------


def run_market(binary: Path, text: str, args: list[str] | None = None, env: dict[str, str] | None = None) -> str:
    """Output of `oms serve --role persister` with this market and no --mongo (plus extra
    flags and environment, e.g. the Kafka security settings)."""
    with tempfile.TemporaryDirectory(prefix="oms-market-") as scratch:
        market = Path(scratch) / "market.toml"
        market.write_text(text, encoding="utf-8")
        result = subprocess.run(
            [str(binary.resolve()), "serve", "--role", "persister", "--kafka", "127.0.0.1:9",
             "--market", str(market), "--data-dir", str(Path(scratch) / "data"), *(args or [])],
            capture_output=True, text=True, timeout=60, check=False, cwd=scratch,
            # Only what is given here: no OMS_* from the caller, no RUST_BACKTRACE.
            env=dict(env or {}),
        )
    if result.returncode == 0:
        return "(exit status 0: the binary started, which it must not without --mongo)"
    return (result.stdout + result.stderr).strip()


def check_markets(binary: Path | None, report: Report) -> None:
    if not report.markets:
        return
    if binary is None:
        print("NOTE: no oms binary given - market files only parsed as TOML, not checked by the engine.")
        for text, users in report.markets.items():
            try:
                document = tomllib.loads(text)
            except tomllib.TOMLDecodeError as error:
                report.fail(users[0], f"market file is not TOML: {error}")
                continue
            unknown = set(document) - {"asset", "instrument", "deposit"}
            if unknown or not document.get("asset") or not document.get("instrument"):
                report.fail(
                    users[0], f"market file needs [[asset]] and [[instrument]] only (unknown: {sorted(unknown)})"
                )
        return
    control = run_market(binary, BROKEN_MARKET)
    if MONGO_ERROR in control or "not-a-decimal" not in control:
        report.fail(
            "market check",
            "the binary no longer validates --market before asking for --mongo, so this check "
            f"cannot tell a good market from a bad one; a known-bad market gave:\n    {control}",
        )
        return
    for text, users in report.markets.items():
        output = run_market(binary, text)
        if MONGO_ERROR in output and "market" not in output.lower():
            document = tomllib.loads(text)
            print(f"market file used by {len(users)} container(s) accepted by the binary "
                  f"({len(document['instrument'])} instruments, {len(document.get('deposit', []))} deposits)")
            report.checked.append(f"market file ({len(users)} uses): accepted by the binary")
        else:
            more = f" (and {len(users) - 1} more containers)" if len(users) > 1 else ""
            report.fail(users[0] + more, f"the binary refuses this market file:\n    {output}")


def check_kafka_binary(binary: Path | None, report: Report) -> None:
    """Run each Kafka security mode the manifests use through the binary (module doc)."""
    modes = sorted({mode for variants in report.kafka.values() for (mode, _, _) in variants})
    if binary is None or not modes or not report.markets:
        if modes and binary is None:
            print("NOTE: no oms binary given - Kafka security modes checked against the contract only.")
        return
    market = next(iter(report.markets))
    credentials = {"OMS_KAFKA_SASL_USERNAME": "check-user", "OMS_KAFKA_SASL_PASSWORD": "check-password"}
    control = run_market(
        binary, market, ["--kafka-security", "scram-sha-512"], {"OMS_KAFKA_SASL_USERNAME": "check-user"}
    )
    if MONGO_ERROR in control or "kafka" not in control.lower():
        report.fail(
            "Kafka security check",
            "the binary no longer refuses SCRAM without a password before asking for --mongo, so this "
            f"check cannot tell accepted settings from refused ones; SCRAM without a password gave:\n    {control}",
        )
        return
    for mode in modes:
        output = run_market(binary, market, ["--kafka-security", mode], credentials if mode in SCRAM_MODES else {})
        if MONGO_ERROR in output:
            print(f"Kafka security {mode} (with {'both SASL credentials' if mode in SCRAM_MODES else 'no credentials'}) "
                  "accepted by the binary")
            report.checked.append(f"Kafka security {mode}: accepted by the binary")
        else:
            report.fail("Kafka security check", f"the binary refuses --kafka-security {mode}:\n    {output}")


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", type=Path, help="path to a built oms binary (optional)")
    parser.add_argument(
        "--manifest",
        action="append",
        type=Path,
        default=[],
        help="rendered manifest file to check (default: render k8s/base and every k8s/overlays/*)",
    )
    parser.add_argument("--dockerfile", type=Path, default=REPO_ROOT / "Dockerfile")
    args = parser.parse_args()

    try:
        accepted = accepted_from_binary(args.binary) if args.binary else accepted_from_contract()
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"check_manifest_flags: cannot read the binary's flags: {error}", file=sys.stderr)
        return 2

    if args.binary is None:
        print("NOTE: no oms binary given - checking against the CLI CONTRACT, not against a built binary.")
        print("      Pass the binary (e.g. target/release/oms) to check against `oms serve --help`.")
    print(f"Accepted flags ({accepted.source}): {', '.join('--' + f for f in sorted(accepted.flags))}")
    print(f"Accepted env: {', '.join(sorted(accepted.env))}")

    sets: dict[str, list[dict[str, Any]]] = {}
    try:
        if args.manifest:
            for path in args.manifest:
                with path.open(encoding="utf-8") as handle:
                    sets[str(path)] = [d for d in yaml.safe_load_all(handle) if d]
        else:
            for directory in [REPO_ROOT / "k8s" / "base"] + sorted(
                (REPO_ROOT / "k8s" / "overlays").iterdir()
            ):
                sets[str(directory.relative_to(REPO_ROOT))] = kustomize_render.render(directory)
    except (OSError, yaml.YAMLError, kustomize_render.RenderError) as error:
        print(f"check_manifest_flags: cannot load manifests: {error}", file=sys.stderr)
        return 2

    report = Report()
    containers = check_manifests(sets, accepted, report)
    if containers == 0:
        report.fail("manifests", "no container running the oms image was found")
    check_dockerfile(args.dockerfile, accepted, report)
    check_markets(args.binary, report)
    check_kafka_binary(args.binary, report)

    print(
        f"Checked {len(report.checked)} flag/env uses in {containers} oms containers "
        f"across {len(sets)} manifest sets, plus {args.dockerfile.name}."
    )
    if report.problems:
        print(f"FAILED: {len(report.problems)} problem(s):")
        for problem in report.problems:
            print(f"  - {problem}")
        return 1
    print("OK: every oms flag and OMS_* variable passed is accepted.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
