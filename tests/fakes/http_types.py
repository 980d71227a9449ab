"""Request and Response of the TEST DOUBLES (tests/fakes): plain data, standard library only, so a
stand-in package can carry a double without Dockyard (see tests/standins/jenkins)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path, without the query
    raw_path: str  # as sent
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client: str = ""  # the client's IP address

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, str or bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


def read_request(handler: BaseHTTPRequestHandler) -> Request:
    """The request a BaseHTTPRequestHandler is serving."""
    length = int(handler.headers.get("Content-Length") or 0)
    parts = urlsplit(handler.path)
    return Request(
        method=handler.command,
        path=unquote(parts.path),
        raw_path=parts.path,
        query=parse_qs(parts.query, keep_blank_values=True),
        headers={k.lower(): v for k, v in handler.headers.items()},
        body=handler.rfile.read(length) if length else b"",
        client=str(handler.client_address[0]),
    )


def write_response(handler: BaseHTTPRequestHandler, response: Response) -> None:
    payload = response.encoded()
    handler.send_response(response.status)
    if payload or handler.command != "HEAD":
        handler.send_header("Content-Type", response.content_type)
    for name, value in response.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)
