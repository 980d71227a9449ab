"""The HA scenarios' upgrade checks on the stand-ins' call logs (tests/molecule/shared/cluster_upgrade.yml):
on the first control plane etcd's health, then the snapshot, its check with etcdutl and one
``kubeadm upgrade apply`` to the new version, in that order; every other node's ``kubeadm upgrade
node`` after it, the control planes one at a time (each after the previous one's kubelet ran the
new version), the workers after every control plane; no kubelet of the new version started before
the API server ran it (the apply). Exit 1 with every problem listed.

    python -m tests.molecule.upgrade_checks --logs DIR --control-planes cp1,cp2 --workers w1 --to-version 1.36.0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tests.molecule.cluster_checks import calls


def _first(log: list[dict[str, Any]], want: Any) -> float | None:
    times = [c["time"] for c in log if want(c)]
    return min(times) if times else None


def _upgraded(kind: str, version: str) -> Any:
    return lambda c: (
        c["tool"] == "kubeadm-standin" and c.get("event") == "upgraded" and c.get("kind") == kind
        and c.get("to_version") == f"v{version}"
    )  # fmt: skip


def _kubelet_started(version: str) -> Any:
    return lambda c: c["tool"] == "kubelet" and c.get("version") == version and "--version" not in c["argv"]


def problems(logs: Path, control_planes: list[str], workers: list[str], version: str) -> list[str]:
    found: list[str] = []
    first = control_planes[0]
    log = calls(logs, first)
    etcd = [c for c in log if c["tool"] in ("etcdctl", "etcdutl")]
    health = _first(etcd, lambda c: c["tool"] == "etcdctl" and "health" in c["argv"])
    saved = _first(etcd, lambda c: c["tool"] == "etcdctl" and c["argv"][-3:-1] == ["snapshot", "save"])
    checked = _first(etcd, lambda c: c["tool"] == "etcdutl" and "status" in c["argv"])
    applies = [c for c in log if _upgraded("apply", version)(c)]
    if len(applies) != 1:
        found.append(f"{first}: {len(applies)} `kubeadm upgrade apply` to v{version}, want 1")
        return found
    applied = applies[0]["time"]
    if not (health is not None and saved is not None and checked is not None and health < saved < checked < applied):
        found.append(
            f"{first}: want etcd health < snapshot save < etcdutl status < apply, got {health, saved, checked, applied}"
        )
    turn_done = _first(log, _kubelet_started(version))
    if turn_done is None or turn_done < applied:
        found.append(f"{first}: its kubelet {version} started at {turn_done}, not after the apply at {applied}")
        turn_done = applied
    for host in control_planes[1:] + workers:
        log = calls(logs, host)
        upgraded = _first(log, _upgraded("node", version))
        started = _first(log, _kubelet_started(version))
        if upgraded is None or started is None:
            found.append(f"{host}: upgrade node at {upgraded}, kubelet {version} at {started}: want both")
            continue
        if host in workers and host == workers[0]:
            last_cp = max((_first(calls(logs, cp), _kubelet_started(version)) or 0.0) for cp in control_planes)
            if upgraded < last_cp:
                found.append(f"{host}: a worker upgraded before the last control plane's kubelet ran {version}")
        if not turn_done < upgraded < started:
            found.append(
                f"{host}: not in its turn: previous node done {turn_done}, upgrade node {upgraded}, kubelet {started}"
            )
        if started < applied:
            found.append(f"{host}: kubelet {version} started before the API server ran it")
        turn_done = started
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--control-planes", required=True)
    parser.add_argument("--workers", default="")
    parser.add_argument("--to-version", required=True)
    args = parser.parse_args(argv)
    control_planes = args.control_planes.split(",")
    workers = [w for w in args.workers.split(",") if w]
    found = problems(args.logs, control_planes, workers, args.to_version)
    for problem in found:
        print(f"upgrade check FAILED: {problem}", file=sys.stderr)
    if not found:
        print(
            f"upgrade checks OK: snapshot, then apply on {control_planes[0]}, then upgrade node on "
            f"{', '.join(control_planes[1:] + workers)} one at a time, kubelets after the API server"
        )
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
