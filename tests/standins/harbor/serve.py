"""Serve the STAND-IN Harbor installer to lab hosts through the test upstream (tests only).

    python -m tests.standins.harbor.serve --ca-dir DIR --bind ADDR --work DIR --base-image IMAGE

builds (or reuses) the stand-in installer, issues the test upstream a certificate for ADDR from the
CA in --ca-dir (the Dockyard internal CA the lab hosts trust, created here if the run has none yet),
publishes the installer where its catalogue URL maps to, writes ``<work>/harbor-overlay.yml`` (the
``dockyard_catalogue`` override pointing the catalogue at it, with the stand-in's sha256), then
detaches, records its PID in ``<work>/harbor-upstream.pid`` and serves until SIGTERM, logging
every hit to ``<work>/harbor-upstream-hits.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

import yaml

from dockyard import catalogue, pki
from tests.standins.harbor import build
from tests.standins.upstream import TestUpstream

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "standins" / "harbor"


def main() -> None:
    parser = argparse.ArgumentParser(prog="tests.standins.harbor.serve")
    parser.add_argument("--ca-dir", type=Path, required=True)
    parser.add_argument("--ca-name", default="Dockyard internal CA (molecule.test)")
    parser.add_argument("--bind", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--base-image", required=True)
    args = parser.parse_args()

    art = catalogue.artefact(catalogue.merged({}), "harbor", "harbor-offline-installer")
    assert art.url and art.version
    built = build.build_installer(art.version, args.base_image, CACHE)
    ca, _ = pki.load_or_create_ca(args.ca_dir, args.ca_name)
    cert_pem, key_pem = ca.sign(pki.CertRequest("test-upstream", ("test-upstream.molecule.test",), (args.bind,)))
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "upstream.crt").write_bytes(cert_pem)
    key = args.work / "upstream.key"
    key.touch(mode=0o600)
    key.write_bytes(key_pem)
    upstream = TestUpstream(args.work / "upstream-root", args.work / "upstream.crt", key, bind=(args.bind, 0))
    upstream.publish("harbor", art.id, art.url, built)
    overlay = {"dockyard_catalogue": upstream.overlay()}
    (args.work / "harbor-overlay.yml").write_text(yaml.safe_dump(overlay, sort_keys=False))

    if os.fork():  # the caller returns at once; the child serves
        return
    os.setsid()
    (args.work / "harbor-upstream.pid").write_text(f"{os.getpid()}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    upstream.start()
    hits = args.work / "harbor-upstream-hits.jsonl"
    seen = 0
    while not stop.wait(0.5):
        new = upstream.hits_for("")[seen:]
        seen += len(new)
        with hits.open("a") as fh:
            fh.writelines(json.dumps(h.__dict__) + "\n" for h in new)
    upstream.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
