"""Apply an environment's rendered Argo CD objects to the cluster its Argo CD runs in, and prune.

Each object is first applied with a server-side dry run; only when the result differs from what the
cluster holds is it applied for real (so a rerun changes nothing and reports nothing). Objects whose
credentials cannot be filled in now are left as they are (neither applied nor pruned) and reported;
those that wait only on credentials ``invoke seed`` stores are counted (:attr:`ApplyReport.waiting_on_seed`).
Pruning deletes only objects labelled as Dockyard's for this environment that the spec no longer has;
objects already being deleted (Argo CD's finalizers at work) are left to finish.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from dockyard.gitops import names, yamlio
from dockyard.gitops.secret_values import Resolver
from dockyard.kube import Cluster, UnknownKind

# What Dockyard puts into an Argo CD, in the order stale ones are pruned (dependants first).
PRUNED_KINDS = (
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("v1", "Secret"),
)
SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")


@dataclass
class Change:
    action: str  # create, update, delete, unchanged, kept (credentials missing)
    kind: str
    name: str
    diff: str = ""
    waits_on_seed: bool = False  # kept: the credentials it lacks are ones invoke seed stores

    def line(self) -> str:
        return f"{self.action} {self.kind} {self.name}"


@dataclass
class ApplyReport:
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(c.action in ("create", "update", "delete") for c in self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def waiting_on_seed(self) -> int:
        """Objects kept only because seed has not stored their credentials yet."""
        return sum(1 for c in self.changes if c.action == "kept" and c.waits_on_seed)

    def summary(self) -> str:
        parts = [
            f"{self.count(a)} {a}d" if a != "unchanged" else f"{self.count(a)} unchanged"
            for a in ("create", "update", "delete", "unchanged")
        ]
        kept = self.count("kept")
        return ", ".join(parts) + (f", {kept} kept as they are" if kept else "")


def selector(env: str) -> str:
    return f"{names.MANAGED_BY_LABEL}={names.MANAGED_BY},{names.ENV_LABEL}={env}"


def apply_env(
    cluster: Cluster, objects: list[dict[str, Any]], *, env: str, resolver: Resolver, dry_run: bool
) -> ApplyReport:
    report = apply_objects(cluster, objects, resolver=resolver, dry_run=dry_run)
    wanted = {(obj["kind"], obj["metadata"]["name"]) for obj in objects}
    for api_version, kind in PRUNED_KINDS:
        try:
            live = cluster.list(api_version, kind, names.ARGOCD_NAMESPACE, selector(env))
        except UnknownKind:
            continue  # nothing of this kind can exist yet
        for item in sorted(live, key=lambda o: o["metadata"]["name"]):
            meta = item["metadata"]
            if (kind, meta["name"]) in wanted or meta.get("deletionTimestamp"):
                continue
            cluster.delete({**item, "apiVersion": api_version, "kind": kind}, dry_run=dry_run)
            report.changes.append(Change("delete", kind, meta["name"], _diff(_comparable(item), None, kind)))
    return report


def apply_objects(cluster: Cluster, objects: list[dict[str, Any]], *, resolver: Resolver, dry_run: bool) -> ApplyReport:
    """Apply each object (dry run first, for real only when it differs); nothing is pruned."""
    report = ApplyReport()
    new_namespaces: set[str] = set()  # dry run: namespaces this run would create
    for obj in objects:
        filled = resolver.fill(obj)
        if filled is None:
            report.changes.append(Change("kept", obj["kind"], _name(obj), waits_on_seed=resolver.waits_on_seed(obj)))
            continue
        if dry_run and filled["metadata"].get("namespace") in new_namespaces:
            # its namespace does not exist yet: the API server cannot dry-run it; it would be created
            report.changes.append(
                Change("create", obj["kind"], _name(obj), _diff(None, _comparable(filled), obj["kind"]))
            )
            continue
        change = _apply_one(cluster, filled, dry_run=dry_run)
        if dry_run and obj["kind"] == "Namespace" and change.action == "create":
            new_namespaces.add(obj["metadata"]["name"])
        report.changes.append(change)
    report.notes += resolver.missing
    resolver.missing.clear()
    return report


def _name(obj: dict[str, Any]) -> str:
    """An object's name as reports show it: with its namespace when that is not Argo CD's."""
    meta = obj["metadata"]
    namespace = meta.get("namespace", names.ARGOCD_NAMESPACE)
    return meta["name"] if namespace == names.ARGOCD_NAMESPACE else f"{namespace}/{meta['name']}"


def _apply_one(cluster: Cluster, obj: dict[str, Any], *, dry_run: bool) -> Change:
    kind = obj["kind"]
    try:
        current = cluster.get(obj)
        proposed = cluster.apply(obj, dry_run=True)
    except UnknownKind:
        if not dry_run:
            raise
        # Check mode before the chart (and so Argo CD's CRDs) is installed: it would be created.
        return Change("create", kind, _name(obj), _diff(None, _comparable(obj), kind))
    before = _comparable(current) if current is not None else None
    after = _comparable(proposed)
    if before == after:
        return Change("unchanged", kind, _name(obj))
    if not dry_run:
        cluster.apply(obj, dry_run=False)
    return Change("create" if current is None else "update", kind, _name(obj), _diff(before, after, kind))


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without what the API server maintains by itself."""
    result = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    result["metadata"] = meta
    return result


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None, kind: str) -> str:
    """A unified diff of the two, with Secret values replaced by a short digest (never printed)."""

    def text(obj: dict[str, Any] | None) -> list[str]:
        if obj is None:
            return []
        shown = dict(obj)
        if kind == "Secret":
            for key in ("data", "stringData"):
                if key in shown:
                    shown[key] = {k: _redacted(v) for k, v in shown[key].items()}
        return yamlio.dump(shown).splitlines(keepends=True)

    name = (after or before or {}).get("metadata", {}).get("name", "?")
    return "".join(difflib.unified_diff(text(before), text(after), f"live {kind}/{name}", f"wanted {kind}/{name}"))


def _redacted(value: Any) -> str:
    digest = hashlib.sha256(str(value).encode()).hexdigest()[:12]
    return f"<redacted sha256:{digest}>"
