#!/usr/bin/env python3
"""Render a kustomize directory with the small subset of kustomize this repo uses.

Why this exists: CI and fresh machines here cannot download the kustomize or kubectl
binaries (only package registries are reachable), yet the overlays must be rendered to be
validated. So this file implements exactly the kustomization fields that k8s/ uses, and
refuses anything else, so the overlays cannot drift outside what it understands:

  resources   files (multi-document YAML) and directories holding a kustomization
  namespace   sets metadata.namespace on namespaced objects
  labels      pairs with includeSelectors: false (includeTemplates true or false);
              commonLabels is refused on purpose, see k8s/base/kustomization.yaml
  images      name -> newName / newTag / digest, on containers and initContainers
  patches     strategic-merge patches from `path:` or inline `patch:`, one or more
              documents, each applied to the object with the same kind and name

Transformers run in kustomize's order: patches, namespace, labels, images. Where a real
kustomize is present (kubectl kustomize), scripts/validate-deploy.sh renders both ways and
compares the results object by object, which is what keeps this file honest.

Usage: kustomize_render.py DIR [-o FILE]
Exit status: 0 rendered, 1 usage or unsupported-feature error.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# Kinds that have no namespace; kustomize leaves their metadata.namespace unset.
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "StorageClass",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "ClusterSecretStore",
    "ClusterIssuer",
    "CSIDriver",
    "RuntimeClass",
}

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

# API groups whose types carry strategic-merge metadata. Lists inside custom resources
# (ExternalSecret, ServiceMonitor, ...) have no merge keys and are replaced whole, as
# kustomize does for kinds it has no schema for.
BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "storage.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
}

# Order kustomize (legacy sort) emits kinds in; unknown kinds go between, by name.
ORDER_FIRST = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


class RenderError(Exception):
    """A kustomization this renderer does not (or must not) understand."""


# --- loading -------------------------------------------------------------------------------


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        docs = [d for d in yaml.safe_load_all(handle) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise RenderError(f"{path}: every document needs kind and metadata")
    return docs


def find_kustomization(directory: Path) -> Path:
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise RenderError(f"{directory}: no kustomization file")


def api_group(obj: dict[str, Any]) -> str:
    api_version = obj.get("apiVersion", "")
    return api_version.split("/")[0] if "/" in api_version else ""


def object_id(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


# --- strategic merge -----------------------------------------------------------------------


def merge_key(path: tuple[str, ...], builtin: bool) -> str | None:
    """patchMergeKey of the list at `path` (field names from the root), or None = replace."""
    if not builtin or not path:
        return None
    field = path[-1]
    if field in ("containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets"):
        return "name"
    if field == "volumeMounts":
        return "mountPath"
    if field == "ports":
        # Service ports merge on `port`, container ports on `containerPort`.
        return "containerPort" if "containers" in path or "initContainers" in path else "port"
    if field == "topologySpreadConstraints":
        return "topologyKey"
    return None


def strategic_merge(original: Any, patch: Any, path: tuple[str, ...], builtin: bool) -> Any:
    if isinstance(original, dict) and isinstance(patch, dict):
        result = dict(original)
        for key, value in patch.items():
            if key.startswith("$"):
                raise RenderError(f"strategic-merge directive {key} is not supported")
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = strategic_merge(result[key], value, path + (key,), builtin)
            else:
                result[key] = copy.deepcopy(value)
        return result
    if isinstance(original, list) and isinstance(patch, list):
        key = merge_key(path, builtin)
        if key is None or not all(isinstance(item, dict) and key in item for item in original + patch):
            return copy.deepcopy(patch)
        result = [copy.deepcopy(item) for item in original]
        for item in patch:
            for index, existing in enumerate(result):
                if existing[key] == item[key]:
                    result[index] = strategic_merge(existing, item, path, builtin)
                    break
            else:
                result.append(copy.deepcopy(item))
        return result
    return copy.deepcopy(patch)


def apply_patches(objects: list[dict[str, Any]], patches: list[dict[str, Any]], where: Path) -> None:
    for patch in patches:
        matches = [o for o in objects if object_id(o) == object_id(patch)]
        if len(matches) != 1:
            raise RenderError(
                f"{where}: patch {object_id(patch)} matches {len(matches)} objects, need exactly 1"
            )
        target = matches[0]
        merged = strategic_merge(target, patch, (), api_group(target) in BUILTIN_GROUPS)
        target.clear()
        target.update(merged)


def load_patches(entries: list[Any], base_dir: Path) -> list[dict[str, Any]]:
    patches: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"path", "patch"} or len(entry) != 1:
            raise RenderError(
                f"{base_dir}: only `path:` or inline `patch:` strategic-merge patches are supported (no target/options)"
            )
        if "path" in entry:
            patches.extend(load_documents(base_dir / entry["path"]))
        else:
            docs = [d for d in yaml.safe_load_all(entry["patch"]) if d is not None]
            patches.extend(docs)
    return patches


# --- transformers --------------------------------------------------------------------------


def set_namespace(objects: list[dict[str, Any]], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED_KINDS:
            obj["metadata"]["namespace"] = namespace


def add_labels(objects: list[dict[str, Any]], entries: list[Any], where: Path) -> None:
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
            raise RenderError(f"{where}: labels entries support pairs, includeSelectors, includeTemplates")
        if entry.get("includeSelectors", False):
            raise RenderError(
                f"{where}: includeSelectors: true is refused (it rewrites NetworkPolicy peer selectors)"
            )
        pairs = entry.get("pairs", {})
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(pairs)
            if entry.get("includeTemplates", False) and obj["kind"] in POD_TEMPLATE_KINDS:
                template = obj.setdefault("spec", {}).setdefault("template", {})
                template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
                for claim in obj["spec"].get("volumeClaimTemplates", []):
                    claim.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def image_name(image: str) -> str:
    without_digest = image.split("@", 1)[0]
    last_colon = without_digest.rfind(":")
    # A colon before the last slash belongs to a registry port, not to a tag.
    if last_colon > without_digest.rfind("/"):
        return without_digest[:last_colon]
    return without_digest


def set_images(objects: list[dict[str, Any]], entries: list[dict[str, Any]], where: Path) -> None:
    for entry in entries:
        if set(entry) - {"name", "newName", "newTag", "digest"}:
            raise RenderError(f"{where}: images entries support name, newName, newTag, digest")
    for obj in objects:
        pod_spec = obj.get("spec", {}).get("template", {}).get("spec")
        if obj["kind"] not in POD_TEMPLATE_KINDS or pod_spec is None:
            continue
        for container in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
            current = container["image"]
            for entry in entries:
                if image_name(current) != entry["name"]:
                    continue
                name = entry.get("newName", entry["name"])
                tag = current.split("@", 1)[0][len(image_name(current)) :]  # ":tag" or ""
                if "digest" in entry:
                    container["image"] = f"{name}@{entry['digest']}"
                elif "newTag" in entry:
                    container["image"] = f"{name}:{entry['newTag']}"
                else:
                    container["image"] = f"{name}{tag}"
                break


# --- driver --------------------------------------------------------------------------------


def render(directory: Path) -> list[dict[str, Any]]:
    kustomization_path = find_kustomization(directory)
    with kustomization_path.open(encoding="utf-8") as handle:
        kustomization = yaml.safe_load(handle) or {}
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise RenderError(
            f"{kustomization_path}: unsupported fields {sorted(unsupported)} "
            "(keep k8s/ inside the subset documented in scripts/kustomize_render.py)"
        )

    objects: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        resource_path = directory / resource
        if resource_path.is_dir():
            objects.extend(render(resource_path))
        else:
            objects.extend(load_documents(resource_path))

    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if key in seen:
            raise RenderError(f"{directory}: duplicate object {key}")
        seen.add(key)

    apply_patches(objects, load_patches(kustomization.get("patches", []), directory), kustomization_path)
    if "namespace" in kustomization:
        set_namespace(objects, kustomization["namespace"])
    add_labels(objects, kustomization.get("labels", []), kustomization_path)
    set_images(objects, kustomization.get("images", []), kustomization_path)
    return objects


def sort_key(obj: dict[str, Any]) -> tuple[int, str, str, str, str]:
    kind = obj["kind"]
    if kind in ORDER_FIRST:
        rank = ORDER_FIRST.index(kind)
    elif kind in ORDER_LAST:
        rank = len(ORDER_FIRST) + 1 + ORDER_LAST.index(kind)
    else:
        rank = len(ORDER_FIRST)
    # Within a rank kustomize sorts by group/version/kind, then namespace and name.
    return (
        rank,
        obj.get("apiVersion", ""),
        kind,
        obj["metadata"].get("namespace", ""),
        obj["metadata"]["name"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args()
    try:
        objects = sorted(render(args.directory), key=sort_key)
    except (RenderError, OSError, yaml.YAMLError) as error:
        print(f"kustomize_render: {error}", file=sys.stderr)
        return 1
    text = yaml.safe_dump_all(objects, sort_keys=True, default_flow_style=False)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
