"""A TEST "upstream" for artefacts: an HTTPS file server with Range support, fault injection and a
log of every hit (tests only). Nothing here is a real vendor download site.

Files are served under ``/<upstream host>/<upstream path>``, so an upstream URL maps onto this
server mechanically (as it maps onto the mirror). :meth:`TestUpstream.publish` puts a built
artefact in place; :meth:`TestUpstream.overlay` returns the ``dockyard_catalogue`` override that
points the catalogue's artefacts here, with the stand-ins' own sha256.
"""

from __future__ import annotations

import shutil
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.standins import detached
from tests.standins.built import Built


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    status: int
    range: str | None
    client: str


@dataclass
class Faults:
    """Per path: answer the next N requests with 500, or cut the connection after K bytes."""

    errors: dict[str, int] = field(default_factory=dict)
    cut_after: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (bytes, times)
    slow: dict[str, float] = field(default_factory=dict)  # path -> seconds to wait before each 64 KiB block


@dataclass(frozen=True)
class Published:
    component: str
    artefact: str
    upstream_url: str
    built: Built


class TestUpstream:
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        root: Path,
        tls_cert: Path | None,
        tls_key: Path | None,
        bind: tuple[str, int] = ("127.0.0.1", 0),
        *,
        vhost: bool = False,
    ):
        self.root = root
        # vhost: requests name the upstream host in their Host header (as through a proxy), not in
        # the path's first component; the file is looked up the same way.
        self.vhost = vhost
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: list[Hit] = []
        self.faults = Faults()
        self.published: list[Published] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(bind, _handler(self))
        self._server.daemon_threads = True
        self.scheme = "http"
        if tls_cert and tls_key:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls_cert), str(tls_key))
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> TestUpstream:
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-upstream", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_detached(self, pid_file: Path) -> None:
        """Serve in a detached process until SIGTERM, its PID in ``pid_file`` (for scenarios that need
        the upstream beyond the process that built it); tests.standins.detached stops it."""
        detached.serve_detached(pid_file, self)

    def __enter__(self) -> TestUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    # ------------------------------------------------------------------ content
    def url_for(self, upstream_url: str) -> str:
        parts = urlsplit(upstream_url)
        return f"{self.base_url}/{parts.netloc}{parts.path}"

    def publish(self, component: str, artefact: str, upstream_url: str, built: Built) -> Published:
        """Serve ``built`` where ``upstream_url`` maps to on this server."""
        parts = urlsplit(upstream_url)
        dest = self.root / parts.netloc / parts.path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if built.path.resolve() != dest.resolve():
            shutil.copyfile(built.path, dest)
        item = Published(component, artefact, upstream_url, built)
        self.published.append(item)
        return item

    def overlay(self, items: Iterable[Published] | None = None) -> dict[str, Any]:
        """The ``dockyard_catalogue`` override pointing each published artefact here."""
        result: dict[str, Any] = {}
        for p in self.published if items is None else items:
            arts = result.setdefault(p.component, {"artefacts": {}})["artefacts"]
            arts[p.artefact] = {
                "url": self.url_for(p.upstream_url),
                "sha256": p.built.sha256,
                "sha256_source": "stand-in built by the tests (tests/standins), served by the test upstream",
            }
        return result

    def hits_for(self, path_part: str = "") -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if path_part in h.path]

    def _log(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)


def _handler(upstream: TestUpstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            if upstream.vhost:
                path = "/" + (self.headers.get("Host") or "").rsplit(":", 1)[0] + path
            rng = self.headers.get("Range")
            client = self.client_address[0]
            with upstream._lock:
                left = upstream.faults.errors.get(path, 0)
                if left:
                    upstream.faults.errors[path] = left - 1
                cut = upstream.faults.cut_after.get(path)
                if cut and not head:
                    upstream.faults.cut_after[path] = (cut[0], cut[1] - 1)
                    if cut[1] <= 1:
                        del upstream.faults.cut_after[path]
            if left:
                upstream._log(Hit(self.command, path, 500, rng, client))
                self._reply(500, b"injected failure\n")
                return
            target = (upstream.root / path.lstrip("/")).resolve()
            if upstream.root.resolve() not in target.parents or not target.is_file():
                upstream._log(Hit(self.command, path, 404, rng, client))
                self._reply(404, b"not found\n")
                return
            size = target.stat().st_size
            start, end, status = 0, size - 1, 200
            if rng:
                parsed = _range(rng, size)
                if parsed is None:
                    upstream._log(Hit(self.command, path, 416, rng, client))
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, end = parsed
                status = 206
            upstream._log(Hit(self.command, path, status, rng, client))
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if head:
                return
            limit = cut[0] if cut else None
            delay = upstream.faults.slow.get(path, 0.0)
            sent = 0
            with target.open("rb") as fh:
                fh.seek(start)
                remaining = end - start + 1
                while remaining > 0:
                    block = fh.read(min(1 << 16, remaining))
                    if not block:
                        break
                    if limit is not None and sent + len(block) > limit:
                        self.wfile.write(block[: max(0, limit - sent)])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.close()  # cut mid-file, as a reset would
                        return
                    if delay:
                        time.sleep(delay)
                    self.wfile.write(block)
                    sent += len(block)
                    remaining -= len(block)

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=N-`` / ``bytes=N-M`` / ``bytes=-K`` -> (start, end), or None when unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            length = int(last)
            start, end = max(0, size - length), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None
    return (start, end) if 0 <= start <= end < size else None
