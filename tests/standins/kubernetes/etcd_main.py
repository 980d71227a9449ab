"""STAND-IN for etcd's release binaries `etcd`, `etcdctl` and `etcdutl` (Dockyard tests only; never part
of the product). Each is a zipapp of this file and standin_lib, built with its tool name and version
baked in (tests/standins/kubernetes/etcd.py); each records its calls and refuses what it does not know.

* ``etcd``: only ``--version`` (etcd itself runs as kubeadm's static pod, never from the tarball);
* ``etcdctl``: ``version``, ``endpoint health [--cluster]`` (also written ``endpoint --cluster health``,
  as Kubespray does) and ``snapshot save FILE``, with the flags configure-upgrade-etcd.md shows
  (``--endpoints``, ``--cacert``, ``--cert``, ``--key``). It checks what the real one's TLS handshake
  with the local member would: the endpoint is https://127.0.0.1:2379, this node runs etcd
  (/etc/kubernetes/manifests/etcd.yaml), the client certificate chains to --cacert (openssl verify),
  is for client authentication and matches --key. ``snapshot save`` writes a clearly labelled
  stand-in snapshot (JSON: a header and a copy of the Kubernetes API double's objects,
  /var/lib/dockyard-standin/kube-api.json, when this node has them), atomically (FILE.part, renamed);
* ``etcdutl``: ``version`` and ``snapshot status FILE`` with ``--write-out`` json or table, the fields
  etcdutl prints (hash, revision, totalKey, totalSize, version); anything but a stand-in snapshot is
  refused as an invalid database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import standin_lib as s

TOOL = "__TOOL__"
VERSION = "__VERSION__"
ROOT = Path(os.environ.get("DOCKYARD_STANDIN_ROOT", "/"))
ENDPOINT = "https://127.0.0.1:2379"
SNAPSHOT_FORMAT = "dockyard-standin-etcd-snapshot/v1"
TLS_FLAGS = {"--endpoints": True, "--cacert": True, "--cert": True, "--key": True}
SPECS: dict[str, dict[str, Any]] = {
    "etcd": {"": {"flags": {"--version": False}, "args": (0, 0)}},
    "etcdctl": {
        "*global*": {"flags": TLS_FLAGS},
        "version": {"flags": {}, "args": (0, 0)},
        "endpoint health": {"flags": {"--cluster": False}, "args": (0, 0)},
        "endpoint": {"flags": {"--cluster": False}, "args": (1, 1)},  # `endpoint --cluster health`
        "snapshot save": {"flags": {}, "args": (1, 1)},
    },
    "etcdutl": {
        "*global*": {"flags": {"--write-out": True, "-w": True}},
        "version": {"flags": {}, "args": (0, 0)},
        "snapshot status": {"flags": {}, "args": (1, 1)},
    },
}


def host(path: str) -> Path:
    return ROOT / path.lstrip("/") if path.startswith("/") else Path(path)


def words_first(argv: list[str], spec: dict[str, Any]) -> list[str]:
    """etcdctl and etcdutl take their global flags before the subcommand; standin_lib.parse wants the
    subcommand first: the same words and flags, subcommand words moved to the front."""
    takes_value = {name: v for entry in spec.values() for name, v in entry.get("flags", {}).items()}
    words: list[str] = []
    flags: list[str] = []
    rest = list(argv)
    while rest:
        item = rest.pop(0)
        if item.startswith("-") and item != "-":
            flags.append(item)
            if takes_value.get(item) and "=" not in item and rest:
                flags.append(rest.pop(0))
        else:
            words.append(item)
    return [*words, *flags]


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def connect(cmd: s.Command) -> None:
    """What the TLS connection to the local member would refuse, refused with etcdctl's words."""
    endpoints = cmd.flag("--endpoints", "127.0.0.1:2379")
    if endpoints != ENDPOINT:
        s.unsupported(f"etcdctl --endpoints={endpoints} (the stand-in serves only {ENDPOINT}, this node's member)")
    paths = {flag: cmd.flag(flag) for flag in ("--cacert", "--cert", "--key")}
    missing = [flag for flag, value in paths.items() if not value]
    if missing:
        s.fail(f"Error: context deadline exceeded ({ENDPOINT} requires client certificates: {' '.join(missing)} unset)")
    files = {flag: host(value) for flag, value in paths.items()}
    for flag, path in files.items():
        if not path.is_file():
            s.fail(f"Error: open {paths[flag]}: no such file or directory")
    if not host("/etc/kubernetes/manifests/etcd.yaml").exists():
        s.fail(f"Error: dial tcp 127.0.0.1:2379: connect: connection refused (no etcd on this node at {ENDPOINT})")
    verified = openssl("verify", "-CAfile", str(files["--cacert"]), str(files["--cert"]))
    if verified.returncode != 0:
        s.fail(
            "Error: context deadline exceeded (tls: failed to verify certificate: x509: certificate signed by "
            f"unknown authority: {verified.stdout.strip()} {verified.stderr.strip()})"
        )
    usage = openssl("x509", "-in", str(files["--cert"]), "-noout", "-ext", "extendedKeyUsage").stdout
    if "TLS Web Client Authentication" not in usage:
        s.fail("Error: context deadline exceeded (tls: certificate specifies an incompatible key usage)")
    cert_pub = openssl("x509", "-in", str(files["--cert"]), "-noout", "-pubkey").stdout
    key_pub = openssl("pkey", "-in", str(files["--key"]), "-pubout").stdout
    if not cert_pub or cert_pub != key_pub:
        s.fail("Error: tls: private key does not match public key")


def etcdctl(cmd: s.Command) -> None:
    if cmd.subcommand == "version":
        print(f"etcdctl version: {VERSION}\nAPI version: {'.'.join(VERSION.split('.')[:2])}")
        return
    if cmd.subcommand == "endpoint" and cmd.args != ["health"]:
        s.unsupported(f"etcdctl endpoint {' '.join(cmd.args)!r} (the stand-in does endpoint health only)")
    connect(cmd)
    if cmd.subcommand in ("endpoint", "endpoint health"):
        print(f"{ENDPOINT} is healthy: successfully committed proposal: took = 1.2ms")
        return
    target = host(cmd.args[0])
    part = target.with_name(target.name + ".part")
    if not target.parent.is_dir():
        s.fail(f"Error: could not open {cmd.args[0]}.part (open {cmd.args[0]}.part: no such file or directory)")
    api_state = host("/var/lib/dockyard-standin/kube-api.json")
    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "note": "STAND-IN etcd snapshot written by the Dockyard test etcdctl; not an etcd database",
        "etcd_version": VERSION,
        "time": time.time(),
        "kube_api": json.loads(api_state.read_text()) if api_state.exists() else None,
    }
    part.write_text(json.dumps(snapshot, sort_keys=True))
    os.chmod(part, 0o600)
    part.replace(target)
    print(f"Snapshot saved at {cmd.args[0]}")


def etcdutl(cmd: s.Command) -> None:
    if cmd.subcommand == "version":
        print(f"etcdutl version: {VERSION}\nAPI version: {'.'.join(VERSION.split('.')[:2])}")
        return
    out = cmd.flag("--write-out") or cmd.flag("-w") or "simple"
    if out not in ("json", "table"):
        s.unsupported(f"etcdutl --write-out={out} (the stand-in writes json or table)")
    path = host(cmd.args[0])
    try:
        raw = path.read_bytes()
        snapshot = json.loads(raw)
        if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError("not a snapshot")
    except FileNotFoundError:
        s.fail(f"Error: stat {cmd.args[0]}: no such file or directory")
    except (OSError, ValueError):
        s.fail(f"Error: invalid database: {cmd.args[0]} is not a (stand-in) etcd snapshot")
    api = snapshot.get("kube_api") or {}
    status = {
        "hash": zlib.crc32(raw),
        "revision": int(api.get("rv", 1)),
        "totalKey": len(api.get("objects") or []),
        "totalSize": len(raw),
        "version": ".".join(VERSION.split(".")[:2]) + ".0",
    }
    if out == "json":
        print(json.dumps(status, separators=(",", ":")))
        return
    print("+----------+----------+------------+------------+---------+")
    print("|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE | VERSION |")
    print("+----------+----------+------------+------------+---------+")
    print(
        f"| {status['hash']:08x} | {status['revision']:>8} | {status['totalKey']:>10} | "
        f"{status['totalSize']:>8} B | {status['version']:>7} |"
    )
    print("+----------+----------+------------+------------+---------+")


def main() -> None:
    spec = SPECS[TOOL]
    s.record(TOOL, sys.argv[1:], version=VERSION)
    cmd = s.parse(TOOL, words_first(sys.argv[1:], spec) if TOOL != "etcd" else sys.argv[1:], spec, log=False)
    if TOOL == "etcd":
        if not cmd.flag("--version"):
            s.unsupported("etcd without --version (etcd runs as kubeadm's static pod, not from the tarball)")
        print(f"etcd Version: {VERSION}\nGit SHA: stand-in\nGo Version: go1.24\nGo OS/Arch: linux/amd64")
        return
    (etcdctl if TOOL == "etcdctl" else etcdutl)(cmd)


if __name__ == "__main__":
    main()
