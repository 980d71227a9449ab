"""TEST DOUBLE of the GitLab REST API v4: groups, projects, repository commits, deploy keys, project
hooks, protected branches and tags, custom attributes, merge requests (list and create).

This is not GitLab. GitLab publishes no OpenAPI document for these endpoints that is vendored here
(see ../shared/reference/gitlab/SOURCES.md), so the double follows the documented REST API
(docs.gitlab.com/api: groups, projects, commits, deploy_keys, project hooks, protected_branches,
protected_tags, custom_attributes) and the calls python-gitlab makes. It checks every request's
fields against the documented attributes of the endpoint (an unknown attribute is answered 400 and
recorded in :attr:`GitlabDouble.violations`), keeps state in memory, answers with the documented
fields, paginates like GitLab (``page``/``per_page``, ``X-Total``, ``X-Next-Page``, ``Link``) and
imitates what the tests depend on: a project's first commit creates and protects its default
branch (GitLab's default branch protection: Maintainers push and merge), hook tokens are never
returned, a deploy key disappears with its last project, deleting a group deletes its projects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from typing import Any

from tests.fakes.server import Request, Response, paginate

BASE = "/api/v4"
LEVEL_NAMES = {0: "No access", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}

# Documented request attributes per endpoint (those python-gitlab sends, for what seed uses).
GROUP_ATTRS = {"name", "path", "description", "visibility", "parent_id"}
PROJECT_ATTRS = {
    "name",
    "path",
    "namespace_id",
    "default_branch",
    "initialize_with_readme",
    "description",
    "visibility",
    "merge_requests_enabled",
    "only_allow_merge_if_all_discussions_are_resolved",
    "only_allow_merge_if_pipeline_succeeds",
    "remove_source_branch_after_merge",
}
COMMIT_ATTRS = {"branch", "commit_message", "actions", "start_branch", "author_email", "author_name"}
ACTION_ATTRS = {"action", "file_path", "content", "encoding", "execute_filemode", "previous_path"}
KEY_ATTRS = {"title", "key", "can_push", "expires_at"}
HOOK_ATTRS = {
    "url",
    "name",
    "description",
    "token",
    "push_events",
    "push_events_branch_filter",
    "tag_push_events",
    "merge_requests_events",
    "enable_ssl_verification",
    "issues_events",
    "note_events",
    "pipeline_events",
    "job_events",
}
BRANCH_ATTRS = {
    "name",
    "push_access_level",
    "merge_access_level",
    "unprotect_access_level",
    "allow_force_push",
    "allowed_to_push",
    "allowed_to_merge",
    "code_owner_approval_required",
}
# docs.gitlab.com/api/protected_branches: update a protected branch (PATCH, GitLab 15.6+)
BRANCH_UPDATE_ATTRS = {
    "allow_force_push",
    "allowed_to_push",
    "allowed_to_merge",
    "allowed_to_unprotect",
    "code_owner_approval_required",
}
ACCESS_ENTRY_ATTRS = {"id", "_destroy", "access_level", "user_id", "group_id", "deploy_key_id"}
TAG_ATTRS = {"name", "create_access_level"}
# docs.gitlab.com/api/branches: create repository branch
REPO_BRANCH_ATTRS = {"branch", "ref"}
# docs.gitlab.com/api/project_access_tokens: create, rotate
ACCESS_TOKEN_ATTRS = {"name", "description", "scopes", "access_level", "expires_at"}
ROTATE_ATTRS = {"expires_at"}
TOKEN_SCOPES = {
    "api",
    "read_api",
    "read_registry",
    "write_registry",
    "read_repository",
    "write_repository",
    "create_runner",
    "manage_runner",
    "ai_features",
    "k8s_proxy",
    "self_rotate",
}
LIST_PARAMS = {
    "page",
    "per_page",
    "with_custom_attributes",
    "all_available",
    "top_level_only",
    "pagination",
    "order_by",
    "sort",
    # merge requests (docs.gitlab.com/api/merge_requests: list project merge requests)
    "source_branch",
    "target_branch",
    "state",
}
# docs.gitlab.com/api/merge_requests: create MR (the attributes promote sends, and their neighbours)
MR_ATTRS = {
    "source_branch",
    "target_branch",
    "title",
    "description",
    "remove_source_branch",
    "assignee_id",
    "labels",
    "squash",
}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _msg(status: int, message: Any) -> Response:
    return Response(status, {"message": message})


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


class GitlabDouble:
    def __init__(self, token: str = "glpat-test-admin-token") -> None:
        self.token = token
        self.admin_token_expires_at = (dt.date.today() + dt.timedelta(days=365)).isoformat()
        self.groups: dict[int, dict[str, Any]] = {}
        self.projects: dict[int, dict[str, Any]] = {}
        self.files: dict[int, dict[str, bytes]] = {}  # project id -> path -> content
        self.keys: dict[int, dict[str, Any]] = {}  # deploy key id -> {title, key, links: {project id: can_push}}
        self.hooks: dict[int, dict[int, dict[str, Any]]] = {}  # project id -> hook id -> hook (with token)
        self.branches: dict[int, dict[str, dict[str, Any]]] = {}
        self.tags: dict[int, dict[str, dict[str, Any]]] = {}
        self.group_attrs: dict[int, dict[str, str]] = {}
        self.project_attrs: dict[int, dict[str, str]] = {}
        self.merge_requests: dict[int, list[dict[str, Any]]] = {}  # project id -> merge requests
        self.refs: dict[int, set[str]] = {}  # project id -> branches that exist (content is not kept per branch)
        # project access tokens: id -> {project_id, name, scopes, access_level, expires_at, revoked, token, user_id}
        self.access_tokens: dict[int, dict[str, Any]] = {}
        self.calls_by_token: list[tuple[str, str, str]] = []  # (method, path, "admin" | "project:<id>")
        self.violations: list[str] = []
        self.unprotected: list[tuple[int, str]] = []  # (project id, branch): every moment a rule went away
        self._id = 0
        self._lock = threading.RLock()
        self.host = ""

    def _next(self) -> int:
        self._id += 1
        return self._id

    # ------------------------------------------------------------------------------ dispatch
    def handle(self, request: Request) -> Response:
        if not request.path.startswith(BASE):
            return _msg(404, "404 Not Found")
        path = request.path[len(BASE) :]
        with self._lock:
            who = self._who(request.headers.get("private-token") or "")
            if who is None:
                return _msg(401, "401 Unauthorized")
            self.calls_by_token.append((request.method, path, who))
            if who != "admin" and not self._project_token_may(who, request.method, path):
                return _msg(403, "403 Forbidden")
        self.host = request.headers.get("host", "")
        try:
            body = request.json() if request.body else {}
        except ValueError:
            return _msg(400, "body is not JSON")
        with self._lock:
            return self._route(request, path, body or {})

    def _who(self, token: str) -> str | None:
        if token == self.token:
            return "admin"
        today = dt.datetime.now(dt.UTC).date().isoformat()
        for tid, record in self.access_tokens.items():
            if record["token"] == token and not record["revoked"] and record["expires_at"] > today:
                return f"project:{tid}"
        return None

    def _project_token_may(self, who: str, method: str, path: str) -> bool:
        """A project access token reaches only its own project, with its role: here a Developer
        (30) with scope api may read the project and list or open merge requests, nothing else."""
        record = self.access_tokens[int(who.split(":", 1)[1])]
        pid = record["project_id"]
        project = self.projects.get(pid, {})
        refs = {str(pid), project.get("path_with_namespace", "")}
        match = re.fullmatch(r"/projects/(\d+|[^/]+/[^/]+)(/merge_requests)?", path)
        if not match or match.group(1) not in refs or "api" not in record["scopes"]:
            return False
        if match.group(2) is None:
            return method == "GET"
        return method in ("GET", "POST") and record["access_level"] >= 30

    # GitLab's personal access token API for the token in use (doc/api/personal_access_tokens.md):
    # rotating revokes it and answers a new one, which is from then on the admin's.
    def _admin_token_view(self) -> dict[str, Any]:
        return {
            "id": 1,
            "name": "dockyard-automation",
            "revoked": False,
            "active": True,
            "scopes": ["api"],
            "user_id": 1,
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": self.admin_token_expires_at,
        }

    def _self_token(self, request: Request, body: dict[str, Any], **_: str) -> Response:
        return Response(200, self._admin_token_view())

    def _rotate_self(self, request: Request, body: dict[str, Any], **_: str) -> Response:
        self.token = "glpat-" + secrets.token_urlsafe(15)
        self.admin_token_expires_at = str(
            body.get("expires_at") or (dt.date.today() + dt.timedelta(days=7)).isoformat()
        )
        return Response(200, {**self._admin_token_view(), "token": self.token})

    def _route(self, request: Request, path: str, body: dict[str, Any]) -> Response:
        routes: list[tuple[str, str, Any, set[str] | None]] = [
            ("GET", r"/groups", self._list_groups, None),
            ("POST", r"/groups", self._create_group, GROUP_ATTRS),
            ("PUT", r"/groups/(?P<gid>\d+)", self._update_group, GROUP_ATTRS),
            ("DELETE", r"/groups/(?P<gid>\d+)", self._delete_group, set()),
            ("PUT", r"/groups/(?P<gid>\d+)/custom_attributes/(?P<key>[^/]+)", self._group_attr, {"value"}),
            ("GET", r"/projects", self._list_projects, None),
            ("POST", r"/projects", self._create_project, PROJECT_ATTRS),
            ("PUT", r"/projects/(?P<pid>\d+)", self._update_project, PROJECT_ATTRS),
            ("DELETE", r"/projects/(?P<pid>\d+)", self._delete_project, set()),
            ("PUT", r"/projects/(?P<pid>\d+)/custom_attributes/(?P<key>[^/]+)", self._project_attr, {"value"}),
            ("POST", r"/projects/(?P<pid>\d+)/repository/commits", self._commit, COMMIT_ATTRS),
            ("GET", r"/deploy_keys", self._list_keys, None),
            ("POST", r"/projects/(?P<pid>\d+)/deploy_keys", self._add_key, KEY_ATTRS),
            ("POST", r"/projects/(?P<pid>\d+)/deploy_keys/(?P<kid>\d+)/enable", self._enable_key, set()),
            ("PUT", r"/projects/(?P<pid>\d+)/deploy_keys/(?P<kid>\d+)", self._update_key, {"title", "can_push"}),
            ("DELETE", r"/projects/(?P<pid>\d+)/deploy_keys/(?P<kid>\d+)", self._delete_key, set()),
            ("GET", r"/projects/(?P<pid>\d+)/hooks", self._list_hooks, None),
            ("POST", r"/projects/(?P<pid>\d+)/hooks", self._add_hook, HOOK_ATTRS),
            ("PUT", r"/projects/(?P<pid>\d+)/hooks/(?P<hid>\d+)", self._update_hook, HOOK_ATTRS),
            ("DELETE", r"/projects/(?P<pid>\d+)/hooks/(?P<hid>\d+)", self._delete_hook, set()),
            ("GET", r"/projects/(?P<pid>\d+)/protected_branches", self._list_branches, None),
            ("POST", r"/projects/(?P<pid>\d+)/protected_branches", self._protect_branch, BRANCH_ATTRS),
            ("DELETE", r"/projects/(?P<pid>\d+)/protected_branches/(?P<name>.+)", self._unprotect_branch, set()),
            (
                "PATCH",
                r"/projects/(?P<pid>\d+)/protected_branches/(?P<name>.+)",
                self._update_branch,
                BRANCH_UPDATE_ATTRS,
            ),
            ("GET", r"/projects/(?P<pid>\d+)/protected_tags", self._list_tags, None),
            ("POST", r"/projects/(?P<pid>\d+)/protected_tags", self._protect_tag, TAG_ATTRS),
            ("DELETE", r"/projects/(?P<pid>\d+)/protected_tags/(?P<name>.+)", self._unprotect_tag, set()),
            ("GET", r"/projects/(?P<pid>\d+)/repository/branches/(?P<name>.+)", self._get_ref, None),
            ("POST", r"/projects/(?P<pid>\d+)/repository/branches", self._create_ref, REPO_BRANCH_ATTRS),
            ("GET", r"/projects/(?P<pid>\d+)/access_tokens", self._list_tokens, None),
            ("POST", r"/projects/(?P<pid>\d+)/access_tokens", self._create_token, ACCESS_TOKEN_ATTRS),
            (
                "POST",
                r"/projects/(?P<pid>\d+)/access_tokens/(?P<tid>\d+)/rotate",
                self._rotate_token,
                ROTATE_ATTRS,
            ),
            ("DELETE", r"/projects/(?P<pid>\d+)/access_tokens/(?P<tid>\d+)", self._revoke_token, set()),
            ("GET", r"/personal_access_tokens/self", self._self_token, None),
            ("POST", r"/personal_access_tokens/self/rotate", self._rotate_self, ROTATE_ATTRS),
            ("GET", r"/projects/(?P<pid>\d+)/merge_requests", self._list_mrs, None),
            ("POST", r"/projects/(?P<pid>\d+)/merge_requests", self._create_mr, MR_ATTRS),
            # last: a project by id or by its full path (python-gitlab's projects.get("group/name"))
            ("GET", r"/projects/(?P<ref>\d+|[^/]+(?:/[^/]+)+)", self._get_project, None),
        ]
        for method, pattern, fn, allowed in routes:
            match = re.fullmatch(pattern, path)
            if method != request.method or not match:
                continue
            problems = self._check(request, path, body, allowed)
            if problems:
                self.violations += problems
                return _msg(400, "; ".join(problems))
            ints = ("gid", "pid", "kid", "hid", "tid")
            args = {k: (int(v) if k in ints else v) for k, v in match.groupdict().items()}
            return fn(request, body, **args)
        problem = f"{request.method} {path}: not an endpoint the test double implements"
        self.violations.append(problem)
        return _msg(404, problem)

    def _check(self, request: Request, path: str, body: dict[str, Any], allowed: set[str] | None) -> list[str]:
        if allowed is None:  # a GET: check the query parameters instead
            unknown = set(request.query) - LIST_PARAMS
            return [f"GET {path}: unknown query parameter {u!r}" for u in sorted(unknown)]
        problems = [f"{request.method} {path}: undocumented attribute {k!r}" for k in sorted(set(body) - allowed)]
        for action in body.get("actions") or []:
            problems += [f"commit action: undocumented attribute {k!r}" for k in sorted(set(action) - ACTION_ATTRS)]
        return problems

    def _page(self, items: list[dict[str, Any]], request: Request, path: str) -> Response:
        chunk, page, size, has_next = paginate(items, request, size_param="per_page", default_size=20, max_size=100)
        total_pages = max(1, -(-len(items) // size))
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(size),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": str(page + 1) if has_next else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        query = "&".join(f"{k}={v[-1]}" for k, v in sorted(request.query.items()) if k not in ("page", "per_page"))
        base = f"https://{self.host}{BASE}{path}?{query + '&' if query else ''}per_page={size}"
        links = []
        if has_next:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
        links.append(f'<{base}&page=1>; rel="first"')
        links.append(f'<{base}&page={total_pages}>; rel="last"')
        headers["Link"] = ", ".join(links)
        return Response(200, chunk, headers)

    # -------------------------------------------------------------------------------- groups
    def _group_view(self, group: dict[str, Any], with_attrs: bool) -> dict[str, Any]:
        view = dict(group)
        if with_attrs:
            view["custom_attributes"] = [
                {"key": k, "value": v} for k, v in sorted(self.group_attrs[group["id"]].items())
            ]
        return view

    def _list_groups(self, request: Request, _body: Any) -> Response:
        attrs = _truthy(request.arg("with_custom_attributes"))
        items = [self._group_view(g, attrs) for _, g in sorted(self.groups.items())]
        return self._page(items, request, "/groups")

    def _create_group(self, _request: Request, body: dict[str, Any]) -> Response:
        path = body.get("path", "")
        if any(g["full_path"] == path for g in self.groups.values()):
            return _msg(400, 'Failed to save group {:path=>["has already been taken"]}')
        gid = self._next()
        self.groups[gid] = {
            "id": gid,
            "name": body.get("name", path),
            "path": path,
            "full_path": path,
            "full_name": body.get("name", path),
            "description": body.get("description", ""),
            "visibility": body.get("visibility", "private"),
            "parent_id": None,
            "web_url": f"https://gitlab.test/groups/{path}",
            "created_at": _now(),
        }
        self.group_attrs[gid] = {}
        return Response(201, self._group_view(self.groups[gid], False))

    def _update_group(self, _request: Request, body: dict[str, Any], gid: int) -> Response:
        group = self.groups.get(gid)
        if group is None:
            return _msg(404, "404 Group Not Found")
        group.update({k: v for k, v in body.items() if k in ("description", "visibility", "name")})
        return Response(200, self._group_view(group, False))

    def _delete_group(self, _request: Request, _body: Any, gid: int) -> Response:
        group = self.groups.pop(gid, None)
        if group is None:
            return _msg(404, "404 Group Not Found")
        for pid in [p for p, project in self.projects.items() if project["namespace"]["id"] == gid]:
            self._drop_project(pid)
        return Response(202, {"message": "202 Accepted"})

    def _group_attr(self, _request: Request, body: dict[str, Any], gid: int, key: str) -> Response:
        if gid not in self.groups:
            return _msg(404, "404 Group Not Found")
        self.group_attrs[gid][key] = str(body.get("value", ""))
        return Response(200, {"key": key, "value": self.group_attrs[gid][key]})

    # ------------------------------------------------------------------------------ projects
    def _project_view(self, project: dict[str, Any], with_attrs: bool) -> dict[str, Any]:
        view = dict(project)
        view["empty_repo"] = not self.files.get(project["id"])
        if with_attrs:
            view["custom_attributes"] = [
                {"key": k, "value": v} for k, v in sorted(self.project_attrs[project["id"]].items())
            ]
        return view

    def _list_projects(self, request: Request, _body: Any) -> Response:
        attrs = _truthy(request.arg("with_custom_attributes"))
        items = [self._project_view(p, attrs) for _, p in sorted(self.projects.items())]
        return self._page(items, request, "/projects")

    def _get_project(self, _request: Request, _body: Any, ref: str) -> Response:
        for pid, project in self.projects.items():
            if str(pid) == ref or project["path_with_namespace"] == ref:
                return Response(200, self._project_view(project, False))
        return _msg(404, "404 Project Not Found")

    # ------------------------------------------------------------------------ repository branches
    def _ref_view(self, pid: int, name: str) -> dict[str, Any]:
        sha = hashlib.sha1(repr(sorted(self.files[pid])).encode(), usedforsecurity=False).hexdigest()
        return {
            "name": name,
            "protected": name in self.branches[pid],
            "default": name == self.projects[pid]["default_branch"],
            "commit": {"id": sha, "short_id": sha[:8]},
        }

    def _get_ref(self, _request: Request, _body: Any, pid: int, name: str) -> Response:
        if pid not in self.projects or name not in self.refs.get(pid, set()):
            return _msg(404, "404 Branch Not Found")
        return Response(200, self._ref_view(pid, name))

    def _create_ref(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        refs = self.refs.setdefault(pid, set())
        if body.get("ref") not in refs:
            return _msg(400, "Invalid reference name")
        if body.get("branch") in refs:
            return _msg(400, "Branch already exists")
        refs.add(body["branch"])
        return Response(201, self._ref_view(pid, body["branch"]))

    # ------------------------------------------------------------------- project access tokens
    def _token_view(self, tid: int) -> dict[str, Any]:
        record = self.access_tokens[tid]
        return {
            "id": tid,
            "name": record["name"],
            "description": record.get("description", ""),
            "scopes": record["scopes"],
            "access_level": record["access_level"],
            "expires_at": record["expires_at"],
            "active": not record["revoked"] and record["expires_at"] > dt.datetime.now(dt.UTC).date().isoformat(),
            "revoked": record["revoked"],
            "user_id": record["user_id"],
            "created_at": record["created_at"],
            "last_used_at": None,
        }

    def _list_tokens(self, request: Request, _body: Any, pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        items = [self._token_view(t) for t, r in sorted(self.access_tokens.items()) if r["project_id"] == pid]
        return self._page(items, request, f"/projects/{pid}/access_tokens")

    def _create_token(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        import secrets  # noqa: PLC0415

        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        scopes = body.get("scopes") or []
        if not body.get("name") or not scopes or set(scopes) - TOKEN_SCOPES:
            return _msg(400, "name and valid scopes are required")
        if int(body.get("access_level", 40)) not in (10, 20, 30, 40, 50):
            return _msg(400, "access_level does not have a valid value")
        expires = str(body.get("expires_at") or "")
        limit = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)).isoformat()
        if not expires or expires > limit:
            return _msg(400, "expires_at must be given, at most 365 days ahead")
        tid = self._next()
        self.access_tokens[tid] = {
            "project_id": pid,
            "name": body["name"],
            "description": body.get("description", ""),
            "scopes": list(scopes),
            "access_level": int(body.get("access_level", 40)),
            "expires_at": expires,
            "revoked": False,
            "token": "glpat-" + secrets.token_urlsafe(20),
            "user_id": self._next(),
            "created_at": _now(),
        }
        return Response(201, {**self._token_view(tid), "token": self.access_tokens[tid]["token"]})

    def _rotate_token(self, _request: Request, body: dict[str, Any], pid: int, tid: int) -> Response:
        import secrets  # noqa: PLC0415

        old = self.access_tokens.get(tid)
        if old is None or old["project_id"] != pid or old["revoked"]:
            return _msg(404, "404 Not Found")
        # GitLab revokes the old token and answers with a new one (a new id) of the same name and scopes.
        old["revoked"] = True
        new = self._next()
        default = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)).isoformat()
        self.access_tokens[new] = {
            **old,
            "revoked": False,
            "expires_at": str(body.get("expires_at") or default),
            "token": "glpat-" + secrets.token_urlsafe(20),
            "created_at": _now(),
        }
        return Response(200, {**self._token_view(new), "token": self.access_tokens[new]["token"]})

    def _revoke_token(self, _request: Request, _body: Any, pid: int, tid: int) -> Response:
        record = self.access_tokens.get(tid)
        if record is None or record["project_id"] != pid:
            return _msg(404, "404 Not Found")
        record["revoked"] = True
        return Response(204)

    # ------------------------------------------------------------------------ merge requests
    def _list_mrs(self, request: Request, _body: Any, pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        wanted = {k: request.arg(k) for k in ("source_branch", "target_branch", "state")}
        items = [
            mr
            for mr in self.merge_requests.get(pid, [])
            if all(v is None or v == "all" or mr[k] == v for k, v in wanted.items())
        ]
        return self._page(items, request, f"/projects/{pid}/merge_requests")

    def _create_mr(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        project = self.projects.get(pid)
        if project is None:
            return _msg(404, "404 Project Not Found")
        missing = [k for k in ("source_branch", "target_branch", "title") if not body.get(k)]
        if missing:
            return _msg(400, f"{', '.join(missing)} is missing")
        mrs = self.merge_requests.setdefault(pid, [])
        for mr in mrs:
            same = (mr["source_branch"], mr["target_branch"]) == (body["source_branch"], body["target_branch"])
            if same and mr["state"] == "opened":
                return _msg(409, ["Another open merge request already exists for this source branch"])
        iid = len(mrs) + 1
        refs = self.refs.get(pid, set())
        if refs and body["target_branch"] not in refs:
            return _msg(422, ["Target branch does not exist"])
        mr = {
            "id": self._next(),
            "iid": iid,
            "project_id": pid,
            "title": body["title"],
            "description": body.get("description", ""),
            "state": "opened",
            "source_branch": body["source_branch"],
            "target_branch": body["target_branch"],
            "force_remove_source_branch": bool(body.get("remove_source_branch", False)),
            "created_at": _now(),
            "web_url": f"https://{self.host}/{project['path_with_namespace']}/-/merge_requests/{iid}",
        }
        mrs.append(mr)
        return Response(201, mr)

    def _create_project(self, _request: Request, body: dict[str, Any]) -> Response:
        group = self.groups.get(int(body.get("namespace_id") or 0))
        if group is None:
            return _msg(404, "404 Namespace Not Found")
        path = body.get("path") or body.get("name", "")
        full = f"{group['full_path']}/{path}"
        if any(p["path_with_namespace"] == full for p in self.projects.values()):
            return _msg(400, {"path": ["has already been taken"]})
        pid = self._next()
        self.projects[pid] = {
            "id": pid,
            "name": body.get("name", path),
            "path": path,
            "path_with_namespace": full,
            "namespace": {
                "id": group["id"],
                "name": group["name"],
                "path": group["path"],
                "kind": "group",
                "full_path": group["full_path"],
            },
            "description": body.get("description", ""),
            "visibility": body.get("visibility", "private"),
            "default_branch": None,
            "merge_requests_enabled": body.get("merge_requests_enabled", True),
            "only_allow_merge_if_all_discussions_are_resolved": body.get(
                "only_allow_merge_if_all_discussions_are_resolved", False
            ),
            "ssh_url_to_repo": f"git@gitlab.test:{full}.git",
            "http_url_to_repo": f"https://gitlab.test/{full}.git",
            "web_url": f"https://gitlab.test/{full}",
            "created_at": _now(),
            "marked_for_deletion_at": None,
        }
        self.files[pid] = {}
        self.hooks[pid] = {}
        self.branches[pid] = {}
        self.tags[pid] = {}
        self.project_attrs[pid] = {}
        return Response(201, self._project_view(self.projects[pid], False))

    def _update_project(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        project = self.projects.get(pid)
        if project is None:
            return _msg(404, "404 Project Not Found")
        project.update(
            {k: v for k, v in body.items() if k in PROJECT_ATTRS - {"namespace_id", "path", "initialize_with_readme"}}
        )
        return Response(200, self._project_view(project, False))

    def _drop_project(self, pid: int) -> None:
        self.projects.pop(pid, None)
        for store in (self.files, self.hooks, self.branches, self.tags, self.project_attrs, self.refs):
            store.pop(pid, None)
        for kid in list(self.keys):
            self.keys[kid]["links"].pop(pid, None)
            if not self.keys[kid]["links"]:
                del self.keys[kid]

    def _delete_project(self, _request: Request, _body: Any, pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        self._drop_project(pid)
        return Response(202, {"message": "202 Accepted"})

    def _project_attr(self, _request: Request, body: dict[str, Any], pid: int, key: str) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        self.project_attrs[pid][key] = str(body.get("value", ""))
        return Response(200, {"key": key, "value": self.project_attrs[pid][key]})

    def _commit(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        import base64  # noqa: PLC0415

        project = self.projects.get(pid)
        if project is None:
            return _msg(404, "404 Project Not Found")
        branch = body.get("branch", "")
        if project["default_branch"] not in (None, branch) and not body.get("start_branch"):
            return _msg(400, "You can only create or edit files when you are on a branch")
        first = project["default_branch"] is None
        for action in body.get("actions") or []:
            if action.get("action") != "create":
                return _msg(400, "the test double supports create actions only")
            data = action.get("content", "")
            raw = base64.b64decode(data) if action.get("encoding") == "base64" else data.encode()
            if action["file_path"] in self.files[pid]:
                return _msg(400, f"A file with this name already exists: {action['file_path']}")
            self.files[pid][action["file_path"]] = raw
        if first:
            project["default_branch"] = branch
            self.refs.setdefault(pid, set()).add(branch)
            # GitLab's default branch protection ("fully protected"): Maintainers push and merge.
            self.branches[pid][branch] = self._branch_record(
                branch, [{"access_level": 40}], [{"access_level": 40}], False
            )
        sha = hashlib.sha1(repr(sorted(self.files[pid])).encode(), usedforsecurity=False).hexdigest()
        return Response(
            201,
            {
                "id": sha,
                "short_id": sha[:8],
                "title": body.get("commit_message", ""),
                "message": body.get("commit_message", ""),
                "created_at": _now(),
            },
        )

    # ----------------------------------------------------------------------------- deploy keys
    def _key_view(self, kid: int) -> dict[str, Any]:
        key = self.keys[kid]

        def refs(write: bool) -> list[dict[str, Any]]:
            out = []
            for pid, can_push in sorted(key["links"].items()):
                if can_push == write and pid in self.projects:
                    p = self.projects[pid]
                    out.append(
                        {
                            "id": pid,
                            "name": p["name"],
                            "path": p["path"],
                            "path_with_namespace": p["path_with_namespace"],
                            "created_at": p["created_at"],
                        }
                    )
            return out

        return {
            "id": kid,
            "title": key["title"],
            "key": key["key"],
            "fingerprint_sha256": "SHA256:" + hashlib.sha256(key["key"].encode()).hexdigest()[:43],
            "created_at": key["created_at"],
            "expires_at": None,
            "projects_with_write_access": refs(True),
            "projects_with_readonly_access": refs(False),
        }

    def _project_key_view(self, kid: int, pid: int) -> dict[str, Any]:
        key = self.keys[kid]
        return {
            "id": kid,
            "title": key["title"],
            "key": key["key"],
            "created_at": key["created_at"],
            "expires_at": None,
            "can_push": key["links"].get(pid, False),
        }

    def _list_keys(self, request: Request, _body: Any) -> Response:
        return self._page([self._key_view(k) for k in sorted(self.keys)], request, "/deploy_keys")

    def _add_key(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        material = " ".join(str(body.get("key", "")).split()[:2])
        if not re.fullmatch(r"ssh-(ed25519|rsa) [A-Za-z0-9+/=]+", material):
            return _msg(400, {"key": ["is invalid"]})
        existing = next((k for k, v in self.keys.items() if v["key"] == material), None)
        if existing is not None:
            if pid in self.keys[existing]["links"]:
                return _msg(400, {"deploy_key.fingerprint_sha256": ["has already been taken"]})
            kid = existing
        else:
            kid = self._next()
            self.keys[kid] = {"title": body.get("title", ""), "key": material, "created_at": _now(), "links": {}}
        self.keys[kid]["links"][pid] = bool(body.get("can_push", False))
        return Response(201, self._project_key_view(kid, pid))

    def _enable_key(self, _request: Request, _body: Any, pid: int, kid: int) -> Response:
        if pid not in self.projects or kid not in self.keys:
            return _msg(404, "404 Not found")
        self.keys[kid]["links"].setdefault(pid, False)
        return Response(201, self._project_key_view(kid, pid))

    def _update_key(self, _request: Request, body: dict[str, Any], pid: int, kid: int) -> Response:
        if kid not in self.keys or pid not in self.keys[kid]["links"]:
            return _msg(404, "404 Deploy Key Not Found")
        if "can_push" in body:
            self.keys[kid]["links"][pid] = bool(body["can_push"])
        if "title" in body:
            self.keys[kid]["title"] = body["title"]
        return Response(200, self._project_key_view(kid, pid))

    def _delete_key(self, _request: Request, _body: Any, pid: int, kid: int) -> Response:
        if kid not in self.keys or pid not in self.keys[kid]["links"]:
            return _msg(404, "404 Deploy Key Not Found")
        del self.keys[kid]["links"][pid]
        if not self.keys[kid]["links"]:
            del self.keys[kid]
        for branch in self.branches.get(pid, {}).values():
            branch["push_access_levels"] = [a for a in branch["push_access_levels"] if a.get("deploy_key_id") != kid]
        return Response(204)

    # ---------------------------------------------------------------------------------- hooks
    @staticmethod
    def _hook_view(hook: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in hook.items() if k != "token"}

    def _list_hooks(self, request: Request, _body: Any, pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        return self._page(
            [self._hook_view(h) for _, h in sorted(self.hooks[pid].items())], request, f"/projects/{pid}/hooks"
        )

    def _add_hook(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        if not str(body.get("url", "")).startswith(("http://", "https://")):
            return _msg(400, {"url": ["is blocked: Only allowed schemes are http, https"]})
        hid = self._next()
        self.hooks[pid][hid] = {
            "id": hid,
            "project_id": pid,
            "url": body["url"],
            "name": body.get("name", ""),
            "description": body.get("description", ""),
            "push_events": body.get("push_events", True),  # GitLab's default
            "tag_push_events": body.get("tag_push_events", False),
            "merge_requests_events": body.get("merge_requests_events", False),
            "enable_ssl_verification": body.get("enable_ssl_verification", True),
            "created_at": _now(),
            "token": body.get("token", ""),
        }
        return Response(201, self._hook_view(self.hooks[pid][hid]))

    def _update_hook(self, _request: Request, body: dict[str, Any], pid: int, hid: int) -> Response:
        hook = self.hooks.get(pid, {}).get(hid)
        if hook is None:
            return _msg(404, "404 Not found")
        hook.update({k: v for k, v in body.items() if k in HOOK_ATTRS})
        return Response(200, self._hook_view(hook))

    def _delete_hook(self, _request: Request, _body: Any, pid: int, hid: int) -> Response:
        if self.hooks.get(pid, {}).pop(hid, None) is None:
            return _msg(404, "404 Not found")
        return Response(204)

    # ----------------------------------------------------------------------- protected refs
    def _branch_record(
        self, name: str, push: list[dict[str, Any]], merge: list[dict[str, Any]], force: bool
    ) -> dict[str, Any]:
        def levels(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            out = []
            for entry in entries:
                rid = self._next()
                if entry.get("deploy_key_id"):
                    out.append(
                        {
                            "id": rid,
                            "access_level": 40,
                            "access_level_description": "Deploy key",
                            "deploy_key_id": entry["deploy_key_id"],
                            "user_id": None,
                            "group_id": None,
                        }
                    )
                else:
                    level = int(entry["access_level"])
                    out.append(
                        {
                            "id": rid,
                            "access_level": level,
                            "access_level_description": LEVEL_NAMES.get(level, str(level)),
                            "user_id": None,
                            "group_id": None,
                        }
                    )
            return out

        return {
            "id": self._next(),
            "name": name,
            "push_access_levels": levels(push),
            "merge_access_levels": levels(merge),
            "unprotect_access_levels": [],
            "allow_force_push": force,
            "code_owner_approval_required": False,
        }

    def _list_branches(self, request: Request, _body: Any, pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        return self._page(
            [b for _, b in sorted(self.branches[pid].items())], request, f"/projects/{pid}/protected_branches"
        )

    def _protect_branch(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        name = body.get("name", "")
        if name in self.branches[pid]:
            return _msg(409, f"Protected branch '{name}' already exists")
        push = [{"access_level": body.get("push_access_level", 40)}, *(body.get("allowed_to_push") or [])]
        for entry in push:
            kid = entry.get("deploy_key_id")
            if kid and not self.keys.get(kid, {}).get("links", {}).get(pid):
                return _msg(422, "Deploy key is not enabled for this project or has no write access")
        merge = [{"access_level": body.get("merge_access_level", 40)}, *(body.get("allowed_to_merge") or [])]
        self.branches[pid][name] = self._branch_record(name, push, merge, bool(body.get("allow_force_push", False)))
        return Response(201, self.branches[pid][name])

    def _unprotect_branch(self, _request: Request, _body: Any, pid: int, name: str) -> Response:
        if self.branches.get(pid, {}).pop(name, None) is None:
            return _msg(404, "404 Not found")
        self.unprotected.append((pid, name))
        return Response(204)

    def _update_branch(self, _request: Request, body: dict[str, Any], pid: int, name: str) -> Response:
        """Rails nested attributes, as the docs describe: an entry with ``id`` and ``_destroy`` goes,
        one with ``id`` is updated, one without ``id`` is added."""
        record = self.branches.get(pid, {}).get(name)
        if record is None:
            return _msg(404, "404 Not found")
        for field, levels in (("allowed_to_push", "push_access_levels"), ("allowed_to_merge", "merge_access_levels")):
            entries = body.get(field) or []
            for entry in entries:
                unknown = set(entry) - ACCESS_ENTRY_ATTRS
                if unknown:
                    self.violations.append(f"PATCH protected branch: {field}: undocumented attribute {sorted(unknown)}")
                    return _msg(400, f"{field}: undocumented attribute {sorted(unknown)}")
            current = {a["id"]: a for a in record[levels]}
            for entry in entries:
                if "id" in entry and int(entry["id"]) not in current:
                    return _msg(404, f"{field}: access level {entry['id']} not found")
                if entry.get("_destroy"):
                    current.pop(int(entry["id"]))
                elif "id" in entry:
                    current[int(entry["id"])]["access_level"] = int(entry["access_level"])
                else:
                    kid = entry.get("deploy_key_id")
                    if kid and not self.keys.get(kid, {}).get("links", {}).get(pid):
                        return _msg(422, "Deploy key is not enabled for this project or has no write access")
                    added = self._branch_record(name, [entry], [], False)["push_access_levels"]
                    current.update({a["id"]: a for a in added})
            record[levels] = sorted(current.values(), key=lambda a: a["id"])
        if "allow_force_push" in body:
            record["allow_force_push"] = bool(body["allow_force_push"])
        return Response(200, record)

    def _list_tags(self, request: Request, _body: Any, pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        return self._page([t for _, t in sorted(self.tags[pid].items())], request, f"/projects/{pid}/protected_tags")

    def _protect_tag(self, _request: Request, body: dict[str, Any], pid: int) -> Response:
        if pid not in self.projects:
            return _msg(404, "404 Project Not Found")
        name = body.get("name", "")
        if name in self.tags[pid]:
            return _msg(409, f"Protected tag '{name}' already exists")
        level = int(body.get("create_access_level", 40))
        self.tags[pid][name] = {
            "name": name,
            "create_access_levels": [
                {
                    "id": self._next(),
                    "access_level": level,
                    "access_level_description": LEVEL_NAMES.get(level, str(level)),
                }
            ],
        }
        return Response(201, self.tags[pid][name])

    def _unprotect_tag(self, _request: Request, _body: Any, pid: int, name: str) -> Response:
        if self.tags.get(pid, {}).pop(name, None) is None:
            return _msg(404, "404 Not found")
        return Response(204)

    # ---------------------------------------------------------------------------- test views
    def project(self, path: str) -> dict[str, Any]:
        return next(p for p in self.projects.values() if p["path_with_namespace"] == path)
