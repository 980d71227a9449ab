"""A FAKE INTERNET on this machine's loopback (tests only, never shipped): the catalogue's real
upstream names (``dl.k8s.io``, ``packages.gitlab.com``, ``registry.k8s.io``, ``quay.io``, ...)
answered with the stand-in artefacts, so ``invoke bundle.build`` runs unmodified against the
catalogue's own URLs and image references, as it would on a connected machine.

* an HTTP CONNECT proxy on 127.0.0.1 (``HTTPS_PROXY``): it tunnels a CONNECT to an upstream name it
  serves to the local backend for that name, and refuses (403) every other name; every CONNECT,
  refused or not, is one line in the hit log (JSONL), which is how a test proves that nothing asked
  the internet for anything during a bootstrap;
* file hosts: the kit's test upstream (tests/standins/upstream.py) in virtual-host mode, files under
  ``<root>/files/<upstream host>/<upstream path>``;
* registries: Debian's docker-registry (distribution), one per upstream registry name, TLS with a
  certificate for that name (``docker.io`` is ``registry-1.docker.io``, as skopeo resolves it);
* one CA of its own ("Dockyard FAKE INTERNET CA"), trusted only by the processes given
  ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` (:meth:`FakeInternet.client_env`); lab hosts never trust it.

Runs detached (:func:`start_detached`) with its PID in ``<root>/internet.pid``; :func:`stop` ends
it by that PID.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dockyard import pki
from tests.standins import detached
from tests.standins.airgap_upstream import Registry
from tests.standins.upstream import TestUpstream

DOCKER_HUB = "registry-1.docker.io"  # where `docker.io/...` references are fetched from


def registry_host(ref: str) -> str:
    """``docker.io/library/traefik:v3`` -> ``registry-1.docker.io``; ``quay.io/x/y:1`` -> ``quay.io``."""
    host = ref.split("/", 1)[0]
    return DOCKER_HUB if host == "docker.io" else host


def file_host(url: str) -> str:
    return urlsplit(url).netloc


@dataclass(frozen=True)
class Layout:
    """Where everything of one fake internet lives under ``root``."""

    root: Path

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / "ca.crt"

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def registries(self) -> Path:
        return self.root / "registries"

    @property
    def hosts_file(self) -> Path:
        return self.root / "hosts.json"  # {"files": [...], "registries": [...]}

    @property
    def pid_file(self) -> Path:
        return self.root / "internet.pid"

    @property
    def port_file(self) -> Path:
        return self.root / "proxy.port"

    @property
    def hits(self) -> Path:
        return self.root / "hits.jsonl"

    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{int(self.port_file.read_text())}"

    def client_env(self) -> dict[str, str]:
        """What a client process needs to reach the fake internet: the proxy and its CA only."""
        ca = str(self.ca_cert)
        proxy = self.proxy_url()
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "REQUESTS_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
        }

    def hit_count(self) -> int:
        return len(self.hits.read_text().splitlines()) if self.hits.exists() else 0

    def hits_since(self, count: int) -> list[dict[str, object]]:
        if not self.hits.exists():
            return []
        return [json.loads(line) for line in self.hits.read_text().splitlines()[count:]]


# ----------------------------------------------------------------------------------- backends


def _certificate(layout: Layout, names: list[str]) -> tuple[Path, Path]:
    ca, _ = pki.load_or_create_ca(layout.ca_dir, "Dockyard FAKE INTERNET CA (tests only)")
    cert_pem, key_pem = ca.sign(pki.CertRequest("fake-internet", tuple(sorted(names)), ("127.0.0.1",)))
    tls = layout.root / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    cert, key = tls / "internet.crt", tls / "internet.key"
    cert.write_bytes(cert_pem)
    key.touch(mode=0o600)
    key.write_bytes(key_pem)
    return cert, key


# ----------------------------------------------------------------------------------- the proxy


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: dict[str, int], hits: Path):
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.routes = routes
        self.hits = hits
        self.lock = threading.Lock()

    def log(self, **entry: object) -> None:
        with self.lock, self.hits.open("a") as fh:
            fh.write(json.dumps({"time": time.time(), **entry}) + "\n")


class _Tunnel(socketserver.BaseRequestHandler):
    server: _Proxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, *_ = [*line.split(" "), "", ""]
        client = self.client_address[0]
        if method != "CONNECT":
            self.server.log(client=client, method=method, target=target, status=403)
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        backend = self.server.routes.get(host) if port == "443" else None
        self.server.log(client=client, method=method, target=target, status=200 if backend else 403)
        if backend is None:
            self.request.sendall(b"HTTP/1.1 403 Forbidden (not on the fake internet)\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection(("127.0.0.1", backend)) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                upstream.sendall(rest)
            _splice(self.request, upstream)


def _splice(a: socket.socket, b: socket.socket) -> None:
    peers = {a: b, b: a}
    while True:
        ready, _, _ = select.select(list(peers), [], [], 300)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


# ----------------------------------------------------------------------------------- lifecycle


def serve(layout: Layout) -> None:
    """Serve until SIGTERM (in this process)."""
    names = json.loads(layout.hosts_file.read_text())
    cert, key = _certificate(layout, names["files"] + names["registries"])
    files = TestUpstream(layout.files, cert, key, vhost=True).start()
    files_port = int(files.base_url.rsplit(":", 1)[1])
    routes = dict.fromkeys(names["files"], files_port)
    registries: list[Registry] = []
    try:
        for host in names["registries"]:
            registry = Registry(layout.registries / host, tls=(cert, key)).start()
            routes[host] = registry.port
            registries.append(registry)
        proxy = _Proxy(routes, layout.hits)
        threading.Thread(target=proxy.serve_forever, name="fake-internet-proxy", daemon=True).start()
        layout.port_file.write_text(f"{proxy.server_address[1]}\n")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        layout.pid_file.write_text(f"{os.getpid()}\n")
        stop.wait()
        proxy.shutdown()
    finally:
        files.stop()
        for registry in registries:
            registry.stop()
        layout.pid_file.unlink(missing_ok=True)


def running(layout: Layout) -> bool:
    """It serves: the PID file names a live fake internet started for this root, and it has said
    its port."""
    return detached.running(layout.pid_file, started_with=layout.root) is not None and layout.port_file.exists()


def start_detached(layout: Layout, files_hosts: list[str], registry_hosts: list[str]) -> None:
    """(Re)start the fake internet for these names in a detached process; returns once it answers."""
    stop(layout)
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.hosts_file.write_text(
        json.dumps({"files": sorted(set(files_hosts)), "registries": sorted(set(registry_hosts))})
    )
    layout.port_file.unlink(missing_ok=True)
    log = (layout.root / "internet.log").open("ab")
    subprocess.Popen(
        [sys.executable, "-m", "tests.standins.fake_internet", "serve", str(layout.root)],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if running(layout):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the fake internet did not start (see {layout.root / 'internet.log'})")


def stop(layout: Layout) -> None:
    """End the fake internet this layout's PID file names (only that process; a stale file is
    removed)."""
    detached.stop(layout.pid_file, started_with=layout.root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.standins.fake_internet", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["serve", "stop"])
    parser.add_argument("root", type=Path)
    args = parser.parse_args(argv)
    layout = Layout(args.root)
    if args.action == "serve":
        serve(layout)
    else:
        stop(layout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
