#!/usr/bin/python3
"""STAND-IN GitLab service (Dockyard tests only; not GitLab): the GitLab API test double
(tests/fakes/gitlab.py, carried in this package) on port 443, over TLS with the certificate
gitlab.rb names. Health endpoints answer only the monitoring allow-list (404 otherwise, as GitLab
does); API calls need an active, unexpired personal access token created by `gitlab-rails runner`
(checked by digest, as GitLab does). Objects live in memory: a restart forgets them."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import ssl
import sys
import threading
import time

sys.path.insert(0, "/opt/gitlab/embedded/dockyard-standin")
import common as c
from tests.fakes.gitlab import GitlabDouble
from tests.fakes.server import DoubleServer, Request, Response

HEALTH = ("/-/readiness", "/-/liveness", "/-/health")
_lock = threading.Lock()


class Tls:
    def __init__(self, cert: str, key: str) -> None:
        self.cert, self.key = cert, key

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


class StandinGitlab:
    def __init__(self, allow: list[str]) -> None:
        self.allow = [ipaddress.ip_network(n, strict=False) for n in allow]
        self.double = GitlabDouble(token=secrets.token_hex(16))  # never presented: tokens are checked here

    def _token(self, request: Request) -> dict | None:
        presented = request.headers.get("private-token") or ""
        today = dt.date.today().isoformat()
        for t in c.read_state().get("tokens", []):
            if t["sha256"] == c.digest(presented) and not t["revoked"] and t["expires_at"] > today:
                return t
        return None

    def handle(self, request: Request) -> Response:
        if request.path in HEALTH:
            if not any(ipaddress.ip_address(request.client) in n for n in self.allow):
                return Response(404, {"message": "404 Not Found"})
            if request.path == "/-/liveness":
                return Response(200, {"status": "ok"})
            checks = ("master_check", "db_check", "cache_check", "queues_check", "gitaly_check")
            return Response(200, {"status": "ok", **{k: [{"status": "ok"}] for k in checks}})
        token = self._token(request)
        if token is None:
            return Response(401, {"message": "401 Unauthorized"})
        if "api" not in token["scopes"]:
            return Response(403, {"error": "insufficient_scope"})
        if request.path == "/api/v4/personal_access_tokens/self" and request.method == "GET":
            return Response(200, self._view(token))
        if request.path == "/api/v4/personal_access_tokens/self/rotate" and request.method == "POST":
            return self._rotate(token, request)
        if request.path == "/api/v4/user" and request.method == "GET":
            return Response(200, {"id": 1, "username": "root", "is_admin": True, "state": "active"})
        request.headers["private-token"] = self.double.token
        return self.double.handle(request)

    @staticmethod
    def _view(t: dict) -> dict:
        keys = ("id", "name", "revoked", "created_at", "scopes", "expires_at")
        return {**{k: t[k] for k in keys}, "user_id": 1, "active": not t["revoked"]}

    def _rotate(self, token: dict, request: Request) -> Response:
        body = request.json() or {}
        unknown = set(body) - {"expires_at"}
        if unknown:
            return Response(400, {"message": f"undocumented attribute(s) {sorted(unknown)}"})
        with _lock:
            state = c.read_state()
            old = next(t for t in state["tokens"] if t["id"] == token["id"])
            old["revoked"] = True
            value = "glpat-" + secrets.token_urlsafe(10)[:14]
            days = 7
            expires = body.get("expires_at") or (dt.date.today() + dt.timedelta(days=days)).isoformat()
            new = {**old, "id": len(state["tokens"]) + 1, "sha256": c.digest(value), "revoked": False}
            new.update(expires_at=expires, created_at=dt.datetime.now(dt.UTC).isoformat())
            state["tokens"].append(new)
            c.write_json(c.STATE, state)
        return Response(200, {**self._view(new), "token": value})


def main() -> None:
    conf = c.read_service()
    server = DoubleServer(StandinGitlab(conf["monitoring_whitelist"]), Tls(conf["cert"], conf["key"]), ("0.0.0.0", 443))  # noqa: S104
    server.start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
