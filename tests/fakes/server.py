"""Plumbing for the TEST DOUBLES of vendor APIs: real HTTPS servers on 127.0.0.1, in threads.

Not any vendor's software. A double is a class with a ``handle(request) -> Response`` method; this
module serves it over TLS with a certificate from a throwaway test CA (made with
:mod:`dockyard.pki`), so the clients under test run with certificate verification on. Every call
is counted (reads: GET/HEAD; writes: the rest), and a test can make chosen calls fail.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from tests.fakes.http_types import Request, Response, read_request, write_response

READ_METHODS = frozenset({"GET", "HEAD"})


class Double(Protocol):
    def handle(self, request: Request) -> Response: ...


def _default_is_read(request: Request) -> bool:
    return request.method in READ_METHODS


@dataclass
class FailureRule:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int


class TestTls:
    """A test CA and one server certificate for 127.0.0.1/localhost."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path) -> None:
        from dockyard import pki  # noqa: PLC0415 (this module also runs inside stand-ins, without dockyard)

        ca, _ = pki.load_or_create_ca(directory / "pki", "Dockyard TEST CA (test doubles only)")
        pki.ensure_cert(ca, pki.CertRequest("doubles", ("localhost",), ("127.0.0.1",)))
        self.ca_path = ca.cert_path
        self.cert_path = ca.directory / "certs" / "doubles.crt"
        self.key_path = ca.directory / "certs" / "doubles.key"

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


class _Tls(Protocol):
    def server_context(self) -> ssl.SSLContext: ...


class DoubleServer:
    """Serves one double over HTTPS on 127.0.0.1 (a free port) until stopped; ``bind`` elsewhere
    (the GitLab stand-in serves its double on the lab host's port 443). ``tls=None`` serves plain
    HTTP: only for a stand-in container whose TLS is terminated by the nginx in front of it
    (tests/standins/harbor)."""

    def __init__(self, double: Double, tls: _Tls | None, bind: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.double = double
        self.calls: list[tuple[str, str, bool]] = []  # method, path, is a read
        self._is_read = getattr(double, "is_read", _default_is_read)
        self._failures: list[FailureRule] = []
        self._lock = threading.Lock()
        server = self
        self._httpd = ThreadingHTTPServer(bind, _handler_class(server))
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.server_context().wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> DoubleServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ------------------------------------------------------------------------------ counting
    def counts(self) -> dict[str, int]:
        with self._lock:
            c = Counter("read" if read else "write" for _m, _p, read in self.calls)
        return {"read": c.get("read", 0), "write": c.get("write", 0), "total": len(self.calls)}

    def writes(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(m, p) for m, p, read in self.calls if not read]

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()

    # ----------------------------------------------------------------------- failure injection
    def fail(self, method: str, path_regex: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls matching with ``status`` instead of handling them."""
        with self._lock:
            self._failures.append(FailureRule(method, re.compile(path_regex), status, times))

    def _injected(self, request: Request) -> Response | None:
        with self._lock:
            for rule in self._failures:
                if rule.remaining > 0 and rule.method == request.method and rule.pattern.search(request.path):
                    rule.remaining -= 1
                    return Response(rule.status, {"message": "injected failure (test double)"})
        return None

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.calls.append((request.method, request.path, self._is_read(request)))
        injected = self._injected(request)
        if injected is not None:
            return injected
        try:
            return self.double.handle(request)
        except Exception as exc:  # a bug in the double must fail the test loudly, not hang it
            return Response(599, {"message": f"test double crashed: {type(exc).__name__}: {exc}"})


def _handler_class(server: DoubleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: do not wait for ACKs

        def _serve(self) -> None:
            write_response(self, server.dispatch(read_request(self)))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def paginate(
    items: list[Any], request: Request, *, size_param: str, default_size: int, max_size: int
) -> tuple[list[Any], int, int, bool]:
    """Slice ``items`` for ``page``/``<size_param>``; returns (page items, page, size, has_next)."""
    page = max(1, int(request.arg("page") or 1))
    size = min(max_size, max(1, int(request.arg(size_param) or default_size)))
    start = (page - 1) * size
    chunk = items[start : start + size]
    return chunk, page, size, start + size < len(items)


def link_header(base_path: str, request: Request, *, page: int, has_next: bool, size_param: str, size: int) -> str:
    links = []
    query = {k: v[-1] for k, v in request.query.items() if k not in ("page", size_param)}
    extra = "".join(f"&{k}={v}" for k, v in sorted(query.items()))
    if page > 1:
        links.append(f'<{base_path}?page={page - 1}&{size_param}={size}{extra}>; rel="prev"')
    if has_next:
        links.append(f'<{base_path}?page={page + 1}&{size_param}={size}{extra}>; rel="next"')
    return ", ".join(links)
