"""STAND-IN kubectl (tests only; the zipapp's __main__): the calls the product makes, with the flags
kubectl's reference documents for them (kubernetes.io/docs/reference/kubectl/generated/: kubectl
version, kubectl apply, kubectl diff, kubectl rollout status), against the cluster's API (in the
tests, the Kubernetes API double) through the kubeconfig. Anything else is refused.

* ``version [--client]``;
* ``apply --server-side [--field-manager M] [--force-conflicts] -k DIR``: server-side apply of each
  object of the kustomization (kustomize.py), in kustomize's order, printing
  ``<resource>[.<group>]/<name> serverside-applied``;
* ``diff --server-side [--field-manager M] [--force-conflicts] -k DIR``: each object's live state
  against a dry-run server-side apply (``dryRun=All``), managedFields left out as kubectl does by
  default; a unified diff, exit 1 when anything differs, 0 when nothing does, more on an error;
* ``rollout status daemonset/NAME [--timeout D]``: kubectl's DaemonSet status viewer (observed
  generation, updated and available pods against desiredNumberScheduled) until done or timed out.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import kustomize
import standin_lib as s
import yaml
from kube_client import Api, from_kubeconfig

VERSION = "__VERSION__"
GLOBAL = {"--kubeconfig": True, "--namespace": True, "-n": True}
APPLY_FLAGS = {
    "--server-side": False,
    "--field-manager": True,
    "--force-conflicts": False,
    "-k": True,
    "--kustomize": True,
}
SPEC: dict[str, Any] = {
    "*global*": {"flags": GLOBAL},
    "version": {"flags": {"--client": False}, "args": (0, 0)},
    "apply": {"flags": APPLY_FLAGS, "args": (0, 0)},
    "diff": {"flags": APPLY_FLAGS, "args": (0, 0)},
    "rollout status": {"flags": {"--timeout": True, "--watch": False, "-w": False}, "args": (1, 1)},
}
DAEMONSETS = ("daemonset", "daemonsets", "ds", "daemonset.apps", "daemonsets.apps")


def main() -> None:
    argv = sys.argv[1:]
    s.record("kubectl", argv)
    # Global flags may come before the subcommand (kubectl --kubeconfig F diff ...).
    leading: list[str] = []
    while argv and argv[0].split("=", 1)[0] in GLOBAL:
        item = argv.pop(0)
        leading.append(item)
        if "=" not in item and argv:
            leading.append(argv.pop(0))
    cmd = s.parse("kubectl", argv + leading, SPEC, log=False)
    if cmd.subcommand == "version":
        print(f"Client Version: v{VERSION}\nKustomize Version: v5.7.1 (stand-in)")
        return
    conf_path = Path(cmd.flag("--kubeconfig") or os.environ.get("KUBECONFIG") or Path.home() / ".kube" / "config")
    if not conf_path.is_file():
        s.fail(f"error: stat {conf_path}: no such file or directory")
    conf = yaml.safe_load(conf_path.read_text())
    namespace = cmd.flag("--namespace") or cmd.flag("-n") or _context_namespace(conf)
    cluster = Cluster(from_kubeconfig(conf))
    if cmd.subcommand == "rollout status":
        rollout_status(cluster, namespace, cmd.args[0], _seconds(cmd.flag("--timeout", "0s")))
        return
    if not cmd.flag("--server-side"):
        s.unsupported(f"kubectl {cmd.subcommand} without --server-side (client-side apply)")
    folder = cmd.flag("-k") or cmd.flag("--kustomize")
    if not folder:
        s.fail(f"error: must specify one of -f and -k\n\nSee 'kubectl {cmd.subcommand} -h' for help and examples")
    objects = kustomize.build(Path(folder))
    default_manager = "kubectl" if cmd.subcommand == "apply" else "kubectl-client-side-apply"
    manager = cmd.flag("--field-manager") or default_manager
    force = bool(cmd.flag("--force-conflicts"))
    if cmd.subcommand == "apply":
        for obj in objects:
            cluster.apply(obj, namespace, manager, force, dry_run=False)
            print(f"{cluster.display(obj)} serverside-applied")
        return
    differs = False
    for obj in objects:
        live = cluster.get(obj, namespace)
        merged = cluster.apply(obj, namespace, manager, force, dry_run=True)
        before, after = _shown(live), _shown(merged)
        if before != after:
            differs = True
            name = cluster.file_name(obj, namespace)
            sys.stdout.writelines(difflib.unified_diff(before, after, f"/tmp/LIVE-0/{name}", f"/tmp/MERGED-0/{name}"))
    sys.exit(1 if differs else 0)


def _context_namespace(conf: dict[str, Any]) -> str:
    current = conf.get("current-context")
    for ctx in conf.get("contexts") or []:
        if ctx.get("name") == current:
            return str((ctx.get("context") or {}).get("namespace") or "default")
    return "default"


def _seconds(duration: str) -> float:
    """A Go duration (kubectl's --timeout): 300s, 5m, 1m30s, 0 (no limit)."""
    if duration in ("0", ""):
        return 0.0
    parts = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:h|m|s|ms))+)", duration)
    if not parts:
        s.fail(f'error: invalid argument "{duration}" for "--timeout" flag: time: invalid duration "{duration}"')
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration))


def _shown(obj: dict[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    shown = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "managedFields"}}
    return yaml.safe_dump(shown, sort_keys=True).splitlines(keepends=True)


class Cluster:
    """The API through discovery: which resource (plural, namespaced) serves each apiVersion and kind."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.kinds: dict[tuple[str, str], tuple[str, bool]] = {}

    def _discover(self) -> None:
        versions = ["v1"]
        code, groups = self.api.call("GET", "/apis")
        if code != 200:
            s.fail(f"error: unable to retrieve the server's API groups: {code}")
        versions += [v["groupVersion"] for g in groups.get("groups", []) for v in g.get("versions", [])]
        for gv in versions:
            code, listing = self.api.call("GET", "/api/v1" if gv == "v1" else f"/apis/{gv}")
            if code != 200:
                continue
            for r in listing.get("resources", []):
                if "/" not in r["name"]:
                    self.kinds[(gv, r["kind"])] = (r["name"], bool(r["namespaced"]))

    def resource(self, obj: dict[str, Any]) -> tuple[str, bool]:
        key = (str(obj.get("apiVersion")), str(obj.get("kind")))
        if key not in self.kinds:
            self._discover()  # again: an object applied before may be a CRD that serves this kind
        if key not in self.kinds:
            s.fail(
                f'error: resource mapping not found for name: "{obj["metadata"].get("name")}": no matches for kind '
                f'"{key[1]}" in version "{key[0]}"\nensure CRDs are installed first'
            )
        return self.kinds[key]

    def path(self, obj: dict[str, Any], namespace: str) -> str:
        plural, namespaced = self.resource(obj)
        gv = str(obj["apiVersion"])
        base = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        ns = f"/namespaces/{obj['metadata'].get('namespace') or namespace}" if namespaced else ""
        return f"{base}{ns}/{plural}/{obj['metadata']['name']}"

    def display(self, obj: dict[str, Any]) -> str:
        group = str(obj["apiVersion"]).rpartition("/")[0]
        singular = str(obj["kind"]).lower()
        return f"{singular}.{group}/{obj['metadata']['name']}" if group else f"{singular}/{obj['metadata']['name']}"

    def file_name(self, obj: dict[str, Any], namespace: str) -> str:
        _, namespaced = self.resource(obj)
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        ns = (obj["metadata"].get("namespace") or namespace) if namespaced else ""
        return ".".join(p for p in (group, version, str(obj["kind"]), ns, obj["metadata"]["name"]) if p)

    def get(self, obj: dict[str, Any], namespace: str) -> dict[str, Any] | None:
        code, out = self.api.call("GET", self.path(obj, namespace))
        if code == 404:
            return None
        if code >= 300:
            s.fail(f"error: {self.display(obj)}: {code} {_message(out)}", 2)
        return out

    def apply(self, obj: dict[str, Any], namespace: str, manager: str, force: bool, *, dry_run: bool) -> dict[str, Any]:
        _, namespaced = self.resource(obj)
        if namespaced:
            obj = {**obj, "metadata": {**obj["metadata"], "namespace": obj["metadata"].get("namespace") or namespace}}
        query = f"?fieldManager={manager}" + ("&force=true" if force else "") + ("&dryRun=All" if dry_run else "")
        code, out = self.api.call("PATCH", self.path(obj, namespace) + query, obj)
        if code == 409:
            s.fail(f"error: Apply failed with conflicts: {_message(out)}\nPlease review the fields above", 1)
        if code >= 300:
            verb = "diff" if dry_run else "apply"
            s.fail(
                f'Error from server: error when {verb}ing "{self.display(obj)}": {code} {_message(out)}',
                2 if dry_run else 1,
            )
        return out


def _message(out: Any) -> str:
    return str(out.get("message", out)) if isinstance(out, dict) else str(out)


def rollout_status(cluster: Cluster, namespace: str, target: str, timeout_s: float) -> None:
    kind, _, name = target.partition("/")
    if kind.lower() not in DAEMONSETS or not name:
        s.unsupported(f"kubectl rollout status {target} (the stand-in follows DaemonSets only)")
    path = f"/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"
    deadline = time.monotonic() + timeout_s if timeout_s else None
    said = ""
    while True:
        code, ds = cluster.api.call("GET", path)
        if code == 404:
            s.fail(f'Error from server (NotFound): daemonsets.apps "{name}" not found')
        if code >= 300:
            s.fail(f"error: {code} {_message(ds)}")
        message, done = _daemonset_status(ds)
        if message != said:
            print(message, flush=True)
            said = message
        if done:
            return
        if deadline is not None and time.monotonic() > deadline:
            s.fail("error: timed out waiting for the condition")
        time.sleep(1)


def _daemonset_status(ds: dict[str, Any]) -> tuple[str, bool]:
    """kubectl's DaemonSetStatusViewer (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go)."""
    name = ds["metadata"]["name"]
    strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy != "RollingUpdate":
        s.fail("error: rollout status is only available for RollingUpdate strategy type")
    status = ds.get("status") or {}
    if int(ds["metadata"].get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(status.get("desiredNumberScheduled", 0))
    updated, available = int(status.get("updatedNumberScheduled", 0)), int(status.get("numberAvailable", 0))
    waiting = f'Waiting for daemon set "{name}" rollout to finish:'
    if updated < desired:
        return f"{waiting} {updated} out of {desired} new pods have been updated...", False
    if available < desired:
        return f"{waiting} {available} of {desired} updated pods are available...", False
    return f'daemon set "{name}" successfully rolled out', True


main()
