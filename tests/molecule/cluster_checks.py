"""The cluster scenarios' checks on the stand-ins' call logs (one JSON line per call, fetched from
every host): ``kubeadm init`` ran once, on the first control plane; every other control plane joined
once, one at a time, each after its own fresh ``upload-certs`` and with that certificate key; every
node joined once with the CA pinned; Calico (the cni phase, converge and idempotence) was diffed as
the apply's field manager twice, applied once in between, its rollout followed after each diff, and
kubectl ran nowhere else. Exit 1 with every problem listed.

    python -m tests.molecule.cluster_checks --logs DIR --control-planes cp1,cp2 --workers w1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def calls(logs: Path, host: str) -> list[dict[str, Any]]:
    path = logs / f"{host}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def problems(logs: Path, control_planes: list[str], workers: list[str]) -> list[str]:
    found: list[str] = []
    first, others = control_planes[0], control_planes[1:]
    on_first = [c for c in calls(logs, first) if c["tool"] == "kubeadm"]
    inits = [c for c in on_first if c["argv"][:1] == ["init"] and "phase" not in c["argv"]]
    if len(inits) != 1:
        found.append(f"{first}: kubeadm init ran {len(inits)} times, not once")
    uploads = [c for c in on_first if c["argv"][:3] == ["init", "phase", "upload-certs"]]
    if len(uploads) != len(others):
        found.append(f"{first}: {len(uploads)} certificate uploads for {len(others)} control-plane joins")
    keys: list[str] = []
    previous_done = inits[0]["time"] if inits else 0.0
    for i, host in enumerate(others):
        log = calls(logs, host)
        joins = [c for c in log if c["tool"] == "kubeadm" and c["argv"][:1] == ["join"]]
        done = [c for c in log if c["tool"] == "kubeadm-standin" and c.get("event") == "joined"]
        if len(joins) != 1 or len(done) != 1:
            found.append(f"{host}: {len(joins)} join calls, {len(done)} joins done (want 1 and 1)")
            continue
        upload = uploads[i]["time"] if i < len(uploads) else float("inf")
        if not previous_done < upload < joins[0]["time"]:
            found.append(f"{host}: its certificate upload was not between the previous join and its own")
        if not done[0]["control_plane"] or not done[0]["ca_pinned"]:
            found.append(f"{host}: joined as {done[0]}, want a control plane with the CA pinned")
        keys.append(done[0]["certificate_key_sha256"])
        previous_done = done[0]["time"]
    if len(set(keys)) != len(keys) or "" in keys:
        found.append(f"control-plane joins reused or lacked a certificate key: {keys}")
    for host in workers:
        log = calls(logs, host)
        joins = [c for c in log if c["tool"] == "kubeadm" and c["argv"][:1] == ["join"]]
        done = [c for c in log if c["tool"] == "kubeadm-standin" and c.get("event") == "joined"]
        if len(joins) != 1 or len(done) != 1 or done[0]["control_plane"] or not done[0]["ca_pinned"]:
            found.append(f"{host}: want one worker join with the CA pinned, got {len(joins)} calls: {done}")
        if done and done[0]["time"] < previous_done:
            found.append(f"{host}: a worker joined before the last control plane had")
    found += calico_problems(logs, control_planes, workers)
    return found


def calico_problems(logs: Path, control_planes: list[str], workers: list[str]) -> list[str]:
    found: list[str] = []
    first = control_planes[0]
    kubectl = [c["argv"] for c in calls(logs, first) if c["tool"] == "kubectl" and "version" not in c["argv"]]
    verbs = [next(w for w in ("diff", "apply", "rollout") if w in argv) for argv in kubectl]
    if verbs != ["diff", "apply", "rollout", "diff", "rollout"]:
        found.append(f"{first}: kubectl calls {verbs}, want diff, apply, rollout (converge) then diff, rollout")
    for argv in kubectl:
        if ("diff" in argv or "apply" in argv) and not {"--server-side", "dockyard"} <= set(argv):
            found.append(f"{first}: kubectl {argv} is not a server-side apply or diff as field manager dockyard")
    for host in [*control_planes[1:], *workers]:
        if any(c["tool"] == "kubectl" and "version" not in c["argv"] for c in calls(logs, host)):
            found.append(f"{host}: kubectl ran here; Calico is applied from the first control plane only")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--control-planes", required=True)
    parser.add_argument("--workers", default="")
    args = parser.parse_args(argv)
    control_planes = args.control_planes.split(",")
    workers = [w for w in args.workers.split(",") if w]
    found = problems(args.logs, control_planes, workers)
    for problem in found:
        print(f"cluster check FAILED: {problem}", file=sys.stderr)
    if not found:
        joins = len(control_planes) - 1
        print(f"cluster checks OK: init once, {joins} control-plane join(s), {len(workers)} worker(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
