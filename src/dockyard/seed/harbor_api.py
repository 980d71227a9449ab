"""A small Harbor API v2.0 client on ``requests`` (Harbor ships no maintained Python client).

Only the calls seed makes, named after the swagger's operations, with pagination done the way the
API documents it (``page``/``page_size``, ``Link: <...>; rel="next"``). Every non-2xx answer
becomes an :class:`ApiError` naming the call; the request body is never part of the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import requests

from dockyard.problems import DockyardError
from dockyard.seed.access import ToolAccess, raise_for_connection

API = "/api/v2.0"
PAGE_SIZE = 100  # Harbor's maximum page_size
TIMEOUT_S = 30


class ApiError(DockyardError):
    def __init__(self, tool: str, method: str, path: str, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"{tool}: {method} {path}: HTTP {status}: {message}")


class HarborApi:
    def __init__(self, access: ToolAccess, page_size: int = PAGE_SIZE) -> None:
        self.base = access.url + API
        self.page_size = page_size
        self.session = requests.Session()
        self.session.auth = access.basic_auth()
        # Passed with every request too: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self.verify = access.verify
        self.session.headers["Accept"] = "application/json"

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        response = self._send(method, path, params, body)
        if response.content and "json" in response.headers.get("Content-Type", ""):
            return response.json()
        return None

    def create(self, path: str, body: Any) -> int:
        """POST a new resource; returns its id from the Location header."""
        response = self._send("POST", path, None, body)
        location = response.headers.get("Location", "")
        match = re.search(r"/(\d+)$", location)
        if not match:
            raise ApiError("harbor", "POST", path, response.status_code, f"no resource id in Location {location!r}")
        return int(match.group(1))

    def create_robot(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self._send("POST", "/robots", None, body).json()
        return created

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            query = {**(params or {}), "page": page, "page_size": self.page_size}
            response = self._send("GET", path, query, None)
            items = response.json() or []
            yield from items
            if 'rel="next"' not in response.headers.get("Link", "") or not items:
                return
            page += 1

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any) -> requests.Response:
        try:
            response = self.session.request(
                method, self.base + path, params=params, json=body, timeout=TIMEOUT_S, verify=self.verify
            )
        except requests.RequestException as exc:
            raise_for_connection("harbor", exc)
            raise  # unreachable: raise_for_connection always raises
        if response.status_code >= 400:
            raise ApiError("harbor", method, path, response.status_code, _error_message(response))
        return response


def _error_message(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        text = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        text = response.text
    return (text or response.reason or "").strip()[:300]
