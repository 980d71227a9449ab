"""TEST DOUBLE of the Harbor API v2.0: projects, robot accounts (v2), tag retention policies, health.

This is not Harbor. It keeps its state in memory and implements only the calls Dockyard's seed
makes, with Harbor's documented semantics where the tests depend on them: pagination
(``page``/``page_size``, ``X-Total-Count``, ``Link``), robot names ``robot$<project>+<name>``,
secrets returned only at creation or refresh, a project's robots deleted with it, 409 on a
duplicate, 412 when deleting a project that still has repositories.

Every request and every response body is validated against the vendored swagger
(``tests/reference/harbor/api/v2.0/swagger.yaml``, Harbor v2.15.2): an invalid request is answered
400 and recorded in :attr:`HarborDouble.violations`; an invalid response is recorded too. Tests
assert the list is empty. One deviation from the document, :func:`_retention_params_any`:
the swagger types ``RetentionRule.params`` values as objects, but Harbor's server model
(``rule.Parameters``, a map of ``interface{}``) and Harbor's own API tests
(goharbor/harbor ``src/core/api/retention_test.go``: ``"latestPushedK": 10``) use numbers.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.server import Request, Response, link_header, paginate
from tests.fakes.swagger import SwaggerValidator

SWAGGER = Path(__file__).resolve().parents[1] / "reference" / "harbor" / "api" / "v2.0" / "swagger.yaml"
BASE = "/api/v2.0"


def _retention_params_any(definitions: dict[str, Any]) -> None:
    definitions["RetentionRule"]["properties"]["params"]["additionalProperties"] = {}


_VALIDATOR: SwaggerValidator | None = None
_VALIDATOR_LOCK = threading.Lock()


def validator() -> SwaggerValidator:
    global _VALIDATOR
    with _VALIDATOR_LOCK:
        if _VALIDATOR is None:
            _VALIDATOR = SwaggerValidator(SWAGGER, overrides=[_retention_params_any])
        return _VALIDATOR


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _errors(status: int, message: str) -> Response:
    code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 409: "CONFLICT", 412: "PRECONDITION"}
    return Response(status, {"errors": [{"code": code.get(status, "ERROR"), "message": message}]})


def _valid_secret(secret: str) -> bool:
    return (
        8 <= len(secret) <= 128
        and any(c.isupper() for c in secret)
        and any(c.islower() for c in secret)
        and any(c.isdigit() for c in secret)
    )


class HarborDouble:
    def __init__(self, username: str = "admin", password: str = "Harbor-test-Pw1") -> None:
        self.username = username
        self.password = password
        self.projects: dict[int, dict[str, Any]] = {}
        self.robots: dict[int, dict[str, Any]] = {}
        self.robot_secrets: dict[int, str] = {}
        self.robot_created: dict[int, float] = {}  # robot id -> creation time (epoch seconds)
        self.retentions: dict[int, dict[str, Any]] = {}
        self.violations: list[str] = []
        self._ids = {"project": 0, "robot": 0, "retention": 0}
        self._lock = threading.RLock()
        self.honour_given_secret = True  # False: behave like a Harbor that always generates the secret
        # GET /health: the components a stand-in actually runs, with their probed status.
        self.health_components: Callable[[], list[dict[str, str]]] = lambda: [{"name": "core", "status": "healthy"}]

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # --------------------------------------------------------------------------- dispatching
    def handle(self, request: Request) -> Response:
        if not request.path.startswith(BASE):
            return Response(404, "not found", content_type="text/plain")
        path = request.path[len(BASE) :]
        try:
            body = request.json()
        except ValueError:
            return _errors(400, "request body is not JSON")
        op, problems = validator().check_request(request.method, path, request.query, body)
        if problems:
            self.violations += problems
            return _errors(400, "; ".join(problems))
        assert op is not None
        if request.method == "GET" and path == "/health":  # documented as needing no authentication
            response = self._health()
        elif not self._authorised(request):
            response = _errors(401, "UnAuthorized")
        else:
            with self._lock:
                response = self._route(request.method, path, request, body)
        body_out = response.body if response.status != 201 or response.body else None
        self.violations += validator().check_response(op, response.status, body_out)
        return response

    def _health(self) -> Response:
        components = self.health_components()
        overall = "healthy" if all(c["status"] == "healthy" for c in components) else "unhealthy"
        return Response(200, {"status": overall, "components": components})

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return (user, password) == (self.username, self.password)

    def _route(self, method: str, path: str, request: Request, body: Any) -> Response:
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/projects", self._list_projects),
            ("POST", r"/projects", self._create_project),
            ("PUT", r"/projects/(?P<id>[^/]+)", self._update_project),
            ("DELETE", r"/projects/(?P<id>[^/]+)", self._delete_project),
            ("GET", r"/robots", self._list_robots),
            ("POST", r"/robots", self._create_robot),
            ("PUT", r"/robots/(?P<id>\d+)", self._update_robot),
            ("PATCH", r"/robots/(?P<id>\d+)", self._refresh_robot),
            ("DELETE", r"/robots/(?P<id>\d+)", self._delete_robot),
            ("GET", r"/users/current", self._current_user),
            ("PUT", r"/users/(?P<id>\d+)/password", self._update_password),
            ("POST", r"/retentions", self._create_retention),
            ("GET", r"/retentions/(?P<id>\d+)", self._get_retention),
            ("PUT", r"/retentions/(?P<id>\d+)", self._update_retention),
        ]
        for m, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if m == method and match:
                return fn(request, body, **match.groupdict())
        return _errors(405, f"the test double does not implement {method} {path}")

    def _page(self, items: list[dict[str, Any]], request: Request, path: str) -> Response:
        chunk, page, size, has_next = paginate(items, request, size_param="page_size", default_size=10, max_size=100)
        headers = {"X-Total-Count": str(len(items))}
        link = link_header(BASE + path, request, page=page, has_next=has_next, size_param="page_size", size=size)
        if link:
            headers["Link"] = link
        return Response(200, chunk, headers)

    # ------------------------------------------------------------------------------ projects
    def _project_by(self, key: str) -> dict[str, Any] | None:
        if key.isdigit():
            return self.projects.get(int(key))
        return next((p for p in self.projects.values() if p["name"] == key), None)

    def _list_projects(self, request: Request, _body: Any) -> Response:
        items = sorted(self.projects.values(), key=lambda p: p["project_id"])
        name = request.arg("name")
        if name:
            items = [p for p in items if p["name"] == name]
        return self._page(items, request, "/projects")

    def _create_project(self, _request: Request, body: dict[str, Any]) -> Response:
        name = body.get("project_name", "")
        if not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", name):
            return _errors(400, f"invalid project name {name!r}")
        if self._project_by(name):
            return _errors(409, f"The project named {name} already exists")
        pid = self._next("project")
        metadata = {"public": "false", **{k: str(v) for k, v in (body.get("metadata") or {}).items()}}
        self.projects[pid] = {
            "project_id": pid,
            "owner_id": 1,
            "owner_name": self.username,
            "name": name,
            "creation_time": _now(),
            "update_time": _now(),
            "repo_count": 0,
            "metadata": metadata,
        }
        return Response(201, None, {"Location": f"{BASE}/projects/{pid}"})

    def _update_project(self, _request: Request, body: dict[str, Any], id: str) -> Response:
        project = self._project_by(id)
        if project is None:
            return _errors(404, f"project {id} not found")
        project["metadata"].update({k: str(v) for k, v in (body.get("metadata") or {}).items()})
        project["update_time"] = _now()
        return Response(200)

    def _delete_project(self, _request: Request, _body: Any, id: str) -> Response:
        project = self._project_by(id)
        if project is None:
            return _errors(404, f"project {id} not found")
        if project["repo_count"]:
            return _errors(412, f"the project {project['name']} contains repositories, cannot be deleted")
        del self.projects[project["project_id"]]
        for rid in [r for r, robot in self.robots.items() if robot["name"].startswith(f"robot${project['name']}+")]:
            del self.robots[rid]
            self.robot_secrets.pop(rid, None)
        retention = project["metadata"].get("retention_id")
        if retention:
            self.retentions.pop(int(retention), None)
        return Response(200)

    # -------------------------------------------------------------------------------- robots
    def _list_robots(self, request: Request, _body: Any) -> Response:
        items = sorted(self.robots.values(), key=lambda r: r["id"])
        return self._page(items, request, "/robots")

    def _create_robot(self, _request: Request, body: dict[str, Any]) -> Response:
        if body.get("level") != "project":
            return _errors(400, "the double only creates project robots")
        perms = body.get("permissions") or []
        if len(perms) != 1 or perms[0].get("kind") != "project":
            return _errors(400, "a project robot has exactly one project permission")
        project = self._project_by(perms[0].get("namespace", ""))
        if project is None:
            return _errors(404, f"project {perms[0].get('namespace')} not found")
        full = f"robot${project['name']}+{body['name']}"
        if any(r["name"] == full for r in self.robots.values()):
            return _errors(409, f"robot account {full} already exists")
        given = body.get("secret") or ""
        if given and not _valid_secret(given):
            return _errors(400, "the secret must be 8-128 characters with an upper, a lower case letter and a digit")
        secret = given if given and self.honour_given_secret else "Gen" + secrets.token_hex(16) + "9"
        rid = self._next("robot")
        self.robot_created[rid] = time.time()
        duration = int(body.get("duration", -1))
        self.robots[rid] = {
            "id": rid,
            "name": full,
            "description": body.get("description", ""),
            "level": "project",
            "duration": body.get("duration", -1),
            "editable": True,
            "disable": bool(body.get("disable", False)),
            "expires_at": self._expires_at(rid, duration),
            "permissions": perms,
            "creator_type": "local",
            "creator_ref": 1,
            "creation_time": _now(),
            "update_time": _now(),
        }
        self.robot_secrets[rid] = secret
        created = {
            "id": rid,
            "name": full,
            "secret": secret,
            "creation_time": _now(),
            "expires_at": self.robots[rid]["expires_at"],
        }
        return Response(201, created, {"Location": f"{BASE}/robots/{rid}"})

    def _update_robot(self, _request: Request, body: dict[str, Any], id: str) -> Response:
        robot = self.robots.get(int(id))
        if robot is None:
            return _errors(404, f"robot {id} not found")
        if body.get("name") != robot["name"] or body.get("level") != robot["level"]:
            return _errors(400, "the name and level of a robot cannot be changed")
        # Harbor (server/v2.0/handler/robot.go, updateV2Robot): a changed duration moves expires_at to
        # creation time + duration days; an unchanged one leaves it alone.
        if "duration" in body and body["duration"] != robot["duration"]:
            robot["expires_at"] = self._expires_at(int(id), int(body["duration"]))
        for key in ("description", "permissions", "disable", "duration"):
            if key in body:
                robot[key] = body[key]
        robot["update_time"] = _now()
        return Response(200)

    def _expires_at(self, rid: int, duration: int) -> int:
        return -1 if duration == -1 else int(self.robot_created[rid] + duration * 86400)

    def age_robots(self, seconds: float) -> None:
        """Test control: every robot was created ``seconds`` earlier than it was (its expiry moves too)."""
        for rid, robot in self.robots.items():
            self.robot_created[rid] -= seconds
            stamp = dt.datetime.fromtimestamp(self.robot_created[rid], dt.UTC)
            robot["creation_time"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            if robot["expires_at"] != -1:
                robot["expires_at"] = int(robot["expires_at"] - seconds)

    def _refresh_robot(self, _request: Request, body: dict[str, Any], id: str) -> Response:
        rid = int(id)
        if rid not in self.robots:
            return _errors(404, f"robot {id} not found")
        given = body.get("secret") or ""
        if given and not _valid_secret(given):
            return _errors(400, "the secret must be 8-128 characters with an upper, a lower case letter and a digit")
        secret = given if given and self.honour_given_secret else "Gen" + secrets.token_hex(16) + "9"
        self.robot_secrets[rid] = secret
        return Response(200, {"secret": secret})

    # --------------------------------------------------------------------------------- users
    ADMIN_ID = 1  # Harbor's built-in admin user

    def _current_user(self, _request: Request, _body: Any) -> Response:
        return Response(
            200,
            {"user_id": self.ADMIN_ID, "username": self.username, "sysadmin_flag": True, "admin_role_in_auth": False},
        )

    def _update_password(self, _request: Request, body: dict[str, Any], id: str) -> Response:
        """Harbor's rules: old_password must match when given (403), the new one must meet the
        password policy (8-128 characters, an upper case letter, a lower case one, a digit: 400).
        The swagger declares no body for those two answers, so none is sent."""
        if int(id) != self.ADMIN_ID:
            return _errors(404, f"user {id} not found")
        if "old_password" in body and body["old_password"] != self.password:
            return Response(403, None)
        new = body.get("new_password", "")
        if not _valid_secret(new):
            return Response(400, None)
        self.password = new
        return Response(200, None)

    def _delete_robot(self, _request: Request, _body: Any, id: str) -> Response:
        if self.robots.pop(int(id), None) is None:
            return _errors(404, f"robot {id} not found")
        self.robot_secrets.pop(int(id), None)
        return Response(200)

    # ---------------------------------------------------------------------------- retentions
    def _create_retention(self, _request: Request, body: dict[str, Any]) -> Response:
        scope = body.get("scope") or {}
        project = self.projects.get(int(scope.get("ref") or 0))
        if scope.get("level") != "project" or project is None:
            return _errors(400, "the retention scope must be an existing project")
        if project["metadata"].get("retention_id"):
            return _errors(409, "the project already has a retention policy")
        rid = self._next("retention")
        self.retentions[rid] = self._stored_policy(rid, body)
        project["metadata"]["retention_id"] = str(rid)
        return Response(201, None, {"Location": f"{BASE}/retentions/{rid}"})

    def _stored_policy(self, rid: int, body: dict[str, Any]) -> dict[str, Any]:
        rules = [{**rule, "id": i + 1, "priority": 0} for i, rule in enumerate(body.get("rules") or [])]
        trigger = {**(body.get("trigger") or {}), "references": {"job_id": rid}}
        return {**body, "id": rid, "rules": rules, "trigger": trigger}

    def _get_retention(self, _request: Request, _body: Any, id: str) -> Response:
        policy = self.retentions.get(int(id))
        return Response(200, policy) if policy else _errors(404, f"retention {id} not found")

    def _update_retention(self, _request: Request, body: dict[str, Any], id: str) -> Response:
        rid = int(id)
        if rid not in self.retentions:
            return _errors(404, f"retention {id} not found")
        self.retentions[rid] = self._stored_policy(rid, body)
        return Response(200)
