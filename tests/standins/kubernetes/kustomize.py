"""STAND-IN LIBRARY (tests only): the part of kustomize (`kubectl -k`) the product's kustomizations
use, with kustomize's semantics for it, refusing every other field:

* ``resources``: local files (multi-document YAML), in order;
* ``images``: ``name`` matched exactly against each container's and init container's image name (the
  part before ``:tag``/``@digest``); ``newName`` replaces the name; ``newTag`` and ``digest`` replace
  the tag and digest (both given: ``name:tag@digest``), as kustomize's image tag updater does;
* ``patches``: an inline strategic merge ``patch`` with a ``target`` of ``kind`` and ``name``. Lists
  of objects merge by ``name`` (the patch merge key of containers, env, volumes, volumeMounts);
  other lists and values are replaced; ``null`` deletes.

Output order is kustomize's default ("legacy"): the kinds in LEGACY_FIRST, then the rest as read,
then LEGACY_LAST.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import standin_lib as s
import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KNOWN_KEYS = {"apiVersion", "kind", "resources", "images", "patches"}
IMAGE_KEYS = {"name", "newName", "newTag", "digest"}
PATCH_KEYS = {"patch", "target"}
TARGET_KEYS = {"kind", "name"}
# sigs.k8s.io/kustomize/api/resid/gvk.go orderFirst / orderLast
LEGACY_FIRST = [
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
LEGACY_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


def build(folder: Path) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k folder` would send, in kustomize's order."""
    found = [folder / name for name in KUSTOMIZATION_FILES if (folder / name).is_file()]
    if not found:
        s.fail(
            f"error: unable to find one of {', '.join(repr(n) for n in KUSTOMIZATION_FILES)} in directory '{folder}'"
        )
    spec = yaml.safe_load(found[0].read_text()) or {}
    unknown = sorted(set(spec) - KNOWN_KEYS)
    if unknown:
        s.unsupported(f"kustomization field(s) {unknown} (the stand-in knows {sorted(KNOWN_KEYS)})")
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources") or []:
        path = folder / resource
        if not path.is_file():
            s.fail(f"error: accumulating resources: '{path}' must be a file (the stand-in takes local files)")
        objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for image in spec.get("images") or []:
        _check_keys("images entry", image, IMAGE_KEYS)
        for obj in objects:
            for container in _containers(obj):
                if isinstance(container.get("image"), str):
                    container["image"] = _retagged(container["image"], image)
    for patch in spec.get("patches") or []:
        _check_keys("patches entry", patch, PATCH_KEYS)
        _check_keys("patch target", patch.get("target") or {}, TARGET_KEYS)
        body = yaml.safe_load(patch["patch"])
        target = patch["target"]
        hits = [
            o
            for o in objects
            if o.get("kind") == target.get("kind") and o["metadata"].get("name") == target.get("name")
        ]
        if not hits:
            s.fail(f"error: no matches for patch target {patch['target']}")
        for obj in hits:
            merged = strategic_merge(obj, body)
            obj.clear()
            obj.update(merged)
    return _legacy_order(objects)


def _check_keys(what: str, entry: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        s.unsupported(f"kustomization {what} field(s) {unknown} (the stand-in knows {sorted(known)})")


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    pod = ((spec.get("jobTemplate") or {}).get("spec") or spec).get("template", {}).get("spec") or (
        spec if obj.get("kind") == "Pod" else {}
    )
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


def split_image(image: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference, as kustomize's image.Split."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest


def _retagged(image: str, rule: dict[str, Any]) -> str:
    name, tag, digest = split_image(image)
    if name != rule["name"]:
        return image
    name = rule.get("newName") or name
    new_tag, new_digest = str(rule.get("newTag") or ""), str(rule.get("digest") or "")
    if new_tag or new_digest:
        tag, digest = new_tag, new_digest
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def strategic_merge(live: Any, patch: Any) -> Any:
    """``patch`` merged into ``live`` (see the module's docstring for the rules kept)."""
    if isinstance(live, dict) and isinstance(patch, dict):
        out = copy.deepcopy(live)
        for key, value in patch.items():
            if key.startswith("$"):
                s.unsupported(f"strategic merge patch directive {key} (the stand-in merges plain patches only)")
            if value is None:
                out.pop(key, None)
            else:
                out[key] = strategic_merge(out.get(key), value)
        return out
    if isinstance(live, list) and isinstance(patch, list) and _by_name(live) and _by_name(patch):
        out = copy.deepcopy(live)
        for item in patch:
            index = next((i for i, old in enumerate(out) if old["name"] == item["name"]), None)
            if index is None:
                out.append(copy.deepcopy(item))
            else:
                out[index] = strategic_merge(out[index], item)
        return out
    return copy.deepcopy(patch)


def _by_name(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and "name" in i for i in items)


def _legacy_order(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def rank(obj: dict[str, Any]) -> int:
        kind = obj.get("kind")
        if kind in LEGACY_FIRST:
            return LEGACY_FIRST.index(kind)
        if kind in LEGACY_LAST:
            return len(LEGACY_FIRST) + 1 + LEGACY_LAST.index(kind)
        return len(LEGACY_FIRST)

    return sorted(objects, key=rank)  # stable: the rest keep their order
