"""Serve the STAND-IN Jenkins artefacts over HTTPS for a lab (tests only): the core package at two
versions (``--from-version``, installed first, and ``--version``, the upgrade's target), every plugin
of the product's lockfile, plus one extra plugin (for the "one added, one removed" test). Writes
three ``dockyard_catalogue`` overlays: ``--overlay`` (the older core, the lockfile as it is),
``--overlay-changed`` (the older core; ``--drop`` removed, ``--add`` added) and ``--overlay-upgrade``
(the changed lockfile and the newer core). Detaches and records its PID, like
tests/fakes/kube_api.py, and serves until SIGTERM."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import yaml

from dockyard import catalogue
from tests.standins import detached
from tests.standins.jenkins import build_plugin, core_overlay, publish_core, publish_lockfile
from tests.standins.upstream import TestUpstream

EXTRA_PLUGIN = ("timestamper", "1.30")  # a real plugin id and version (index file id 52007814946)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="STAND-IN Jenkins artefacts on a test upstream")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--version", required=True, help="the core the upgrade goes to")
    parser.add_argument("--from-version", required=True, help="the core installed first")
    parser.add_argument("--drop", required=True, help="plugin the changed overlay removes")
    parser.add_argument("--overlay", type=Path, required=True)
    parser.add_argument("--overlay-changed", type=Path, required=True)
    parser.add_argument("--overlay-upgrade", type=Path, required=True)
    parser.add_argument("--pid-file", type=Path, required=True)
    args = parser.parse_args(argv)
    detached.stop(args.pid_file)  # one an earlier run left behind gives its address up first
    upstream = TestUpstream(args.root / "serve", args.cert, args.key, bind=(args.bind, 0))
    product = catalogue.product()
    _, overlay = publish_lockfile(upstream, args.root / "built", product, args.from_version)
    args.overlay.write_text(yaml.safe_dump(overlay, sort_keys=False))
    pid, version = EXTRA_PLUGIN
    url = f"https://updates.jenkins.io/download/plugins/{pid}/{version}/{pid}.hpi"
    extra = upstream.publish("jenkins_plugins", pid, url, build_plugin(args.root / "built" / "extra", pid, version, {}))
    # The changed set is a lockfile of its own (a component the role is pointed at with
    # jenkins_plugins_component), as an operator would ship one: the product's minus --drop, plus one.
    locked = copy.deepcopy(product["jenkins_plugins"])
    served = overlay["jenkins_plugins"]["artefacts"]
    locked["artefacts"] = {k: {**v, **served[k]} for k, v in locked["artefacts"].items() if k != args.drop}
    locked["artefacts"][pid] = {
        "kind": "jenkins-plugin",
        "version": version,
        **upstream.overlay([extra])["jenkins_plugins"]["artefacts"][pid],
        "requires_source": "stand-in: no dependencies",
    }
    changed = {**copy.deepcopy(overlay), "jenkins_plugins_changed": locked}
    args.overlay_changed.write_text(yaml.safe_dump(changed, sort_keys=False))
    newer = publish_core(upstream, args.root / "built" / "upgrade", args.version)
    upgrade = {**copy.deepcopy(changed), "jenkins": core_overlay(upstream, newer, args.version)["jenkins"]}
    args.overlay_upgrade.write_text(yaml.safe_dump(upgrade, sort_keys=False))
    upstream.serve_detached(args.pid_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
