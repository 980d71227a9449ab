"""TEST DOUBLE of the Jenkins HTTP API (items, folder credentials) and of the Configuration-as-Code
plugin's HTTP endpoints (``/configuration-as-code/export`` and ``/configure``).

This is not Jenkins. It keeps items, folder credentials and a JCasC configuration in memory and
answers the calls python-jenkins and Dockyard's seed make: the version header, the crumb issuer,
``/api/json`` with ``tree`` (including ``{m,n}`` ranges), ``createItem``, ``config.xml``,
``submitDescription``, ``doDelete``, and the credentials store of a folder. Item and credential
XML must be well formed with a root element Jenkins knows; credentials must carry an id and a scope.

JCasC, as the plugin documents it (tests/reference/jenkins/configuration-as-code-plugin): a
posted document replaces each attribute it declares (``jenkins.clouds``, the system credentials)
and leaves the others alone; the export shows secrets encrypted (``{...}``), and an encrypted
value posted back is decrypted, as Jenkins' ``Secret`` does. Kubernetes cloud, pod template and
container attributes are checked against the names the kubernetes plugin documents; an unknown
one is answered 400 and recorded in :attr:`JenkinsDouble.violations`. The export echoes what was
configured (a real export also lists defaults; seed compares with that in mind).

Security, as Jenkins behaves: ``/login`` answers 200 to anyone; everything else needs HTTP basic
auth with a user's API token, or with its password (a POST made with a password needs a crumb
from ``/crumbIssuer`` bound to the session cookie that request got). ``/whoAmI/api/json`` tells
who is asking; ``generateNewToken`` makes an API token (``11`` + 32 hex, shown once);
``/configuration-as-code/reload`` calls :attr:`JenkinsDouble.on_reload` (the stand-in package
re-reads its JCasC directory there); ``/quietDown`` sets :attr:`JenkinsDouble.quieting_down`, and
``/computer/api/json`` reports the busy executors (``busyExecutors``) an upgrade waits to drain.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import yaml

from tests.fakes.http_types import Request, Response

FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
PIPELINE = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
ROOT_CLASSES = {"com.cloudbees.hudson.plugins.folder.Folder": FOLDER, "flow-definition": PIPELINE}
CREDENTIAL_CLASSES = {
    "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
    "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey",
    "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl",
    "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl",
}
SECRET_FIELDS = {"password", "privateKey", "secret", "secretBytes", "apiToken"}
# Attribute names the kubernetes plugin documents for clouds, pod templates and containers
# (README "Configuration reference" and the plugin's casc test resources, vendored in tests/reference).
CLOUD_KEYS = {
    "name", "serverUrl", "serverCertificate", "skipTlsVerify", "namespace", "credentialsId", "jenkinsUrl",
    "jenkinsTunnel", "webSocket", "containerCap", "containerCapStr", "maxRequestsPerHost", "templates",
    "connectTimeout", "readTimeout", "retentionTimeout", "podLabels", "useJenkinsProxy", "directConnection",
}  # fmt: skip
TEMPLATE_KEYS = {
    "name", "label", "namespace", "containers", "envVars", "volumes", "workspaceVolume", "yaml",
    "yamlMergeStrategy", "inheritFrom", "instanceCap", "idleMinutes", "activeDeadlineSeconds",
    "slaveConnectTimeout", "hostNetwork", "serviceAccount", "nodeSelector", "podRetention",
    "imagePullSecrets", "annotations", "runAsUser", "runAsGroup", "showRawYaml", "nodeUsageMode",
    "inheritYamlMergeStrategy",
}  # fmt: skip
CONTAINER_KEYS = {
    "name", "image", "command", "args", "ttyEnabled", "privileged", "alwaysPullImage", "workingDir",
    "envVars", "resourceRequestCpu", "resourceRequestMemory", "resourceLimitCpu", "resourceLimitMemory",
    "livenessProbe", "ports", "runAsUser", "runAsGroup",
}  # fmt: skip


def _encrypt(value: str) -> str:
    return "{" + base64.b64encode(b"double-encrypted:" + value.encode()).decode() + "}"


def _decrypt(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{[A-Za-z0-9+/=]+\}", value):
        raw = base64.b64decode(value[1:-1])
        if raw.startswith(b"double-encrypted:"):
            return raw[len(b"double-encrypted:") :].decode()
    return value


def _walk_secrets(node: Any, fn: Any) -> Any:
    if isinstance(node, dict):
        return {k: (fn(v) if k in SECRET_FIELDS else _walk_secrets(v, fn)) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk_secrets(v, fn) for v in node]
    return node


class JenkinsDouble:
    READ_POSTS = frozenset({"/configuration-as-code/export"})  # POST by the plugin's rule, reads nothing

    def __init__(self, user: str = "admin", api_token: str = "jenkins-test-api-token") -> None:
        self.user = user
        self.api_token = api_token
        self.passwords: dict[str, str] = {}  # user -> password (a JCasC local realm)
        self.tokens: dict[str, dict[str, str]] = {user: {"initial": api_token}} if api_token else {}
        self.sessions: dict[str, str] = {}  # session cookie -> its crumb
        self.on_reload: Callable[[], None] | None = None
        self.reloads = 0
        self.quieting_down = False  # POST /quietDown: no new builds start (until a restart)
        self.busy_executors = 0  # builds running (the double runs none)
        self.items: dict[str, dict[str, Any]] = {}  # "folder" or "folder/job" -> item
        self.credentials: dict[str, dict[str, dict[str, Any]]] = {}  # folder -> id -> credential
        self.casc: dict[str, Any] = {}
        self.violations: list[str] = []
        self.crumb = "double-crumb-0123456789"
        self._lock = threading.RLock()

    def is_read(self, request: Request) -> bool:
        return request.method in ("GET", "HEAD") or request.path in self.READ_POSTS

    # ------------------------------------------------------------------------------ dispatch
    def _who(self, request: Request) -> tuple[str | None, str]:
        """(user, how): how is 'token', 'password' or '' (anonymous or wrong credentials)."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None, ""
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None, ""
        if secret and secret in (self.tokens.get(user) or {}).values():
            return user, "token"
        if secret and self.passwords.get(user) == secret:
            return user, "password"
        return None, "bad"

    def _session(self, request: Request) -> str | None:
        match = re.search(r"JSESSIONID=([\w-]+)", request.headers.get("cookie", ""))
        return match.group(1) if match else None

    def handle(self, request: Request) -> Response:
        with self._lock:
            if request.method == "GET" and request.path == "/login":
                return Response(200, "<html><body>Sign in</body></html>", content_type="text/html")
            user, how = self._who(request)
            if user is None:
                return Response(401, "Unauthorized", content_type="text/plain")
            if request.method == "GET" and request.path == "/crumbIssuer/api/json" and how == "password":
                session = self.sessions_new()
                return Response(
                    200,
                    {"crumb": self.sessions[session], "crumbRequestField": "Jenkins-Crumb"},
                    {"Set-Cookie": f"JSESSIONID={session}; Path=/; HttpOnly"},
                )
            if request.method == "POST" and how == "password":
                session = self._session(request)
                if not session or request.headers.get("jenkins-crumb") != self.sessions.get(session):
                    return Response(403, "No valid crumb was included in the request", content_type="text/plain")
            if request.path == "/configuration-as-code/configure" and how != "token":
                # configurationReload.md: "Authenticate the request using the username and API token"
                return Response(403, "configure: authenticate with an API token", content_type="text/plain")
            return self._security(request, user) or self._route(request)

    def sessions_new(self) -> str:
        session = secrets.token_hex(8)
        self.sessions[session] = secrets.token_hex(16)
        return session

    def _security(self, request: Request, user: str) -> Response | None:
        path, method = request.path, request.method
        if method == "GET" and path == "/whoAmI/api/json":
            return Response(200, {"name": user, "anonymous": False, "authenticated": True})
        match = re.fullmatch(
            r"/user/([^/]+)/descriptorByName/jenkins\.security\.ApiTokenProperty/generateNewToken", path
        )
        if match and method == "POST":
            if match.group(1) != user:
                return Response(403, "Forbidden", content_type="text/plain")
            name = request.form().get("newTokenName", ["token"])[-1]
            value = "11" + secrets.token_hex(16)
            uuid = secrets.token_hex(16)
            self.tokens.setdefault(user, {})[uuid] = value
            return Response(200, {"status": "ok", "data": {"tokenName": name, "tokenUuid": uuid, "tokenValue": value}})
        if method == "POST" and path == "/configuration-as-code/reload":
            self.reloads += 1
            if self.on_reload is not None:
                self.on_reload()
            return Response(200, "")
        if method == "POST" and path == "/quietDown":
            self.quieting_down = True
            return Response(200, "")
        if method == "GET" and path == "/computer/api/json":  # hudson.model.ComputerSet's exported counts
            return Response(
                200, {"_class": "hudson.model.ComputerSet", "busyExecutors": self.busy_executors, "totalExecutors": 2}
            )
        return None

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if method == "GET" and path == "/":
            return Response(200, "<html/>", {"X-Jenkins": "2.568.3"}, content_type="text/html")
        if method == "GET" and path == "/crumbIssuer/api/json":
            return Response(200, {"crumb": self.crumb, "crumbRequestField": "Jenkins-Crumb"})
        if method == "POST" and request.headers.get("jenkins-crumb") not in (None, self.crumb, *self.sessions.values()):
            return Response(403, "No valid crumb was included in the request", content_type="text/plain")
        if method == "POST" and path == "/configuration-as-code/export":
            return Response(200, yaml.safe_dump(_walk_secrets(self.casc, _encrypt)), content_type="application/x-yaml")
        if method == "POST" and path == "/configuration-as-code/configure":
            return self._configure(request)
        if method == "GET" and path == "/api/json":
            return Response(200, {"_class": "hudson.model.Hudson", "jobs": self._tree(request, "")})
        match = re.fullmatch(r"((?:/job/[^/]+)*)/(.*)", path)
        if not match:
            return self._unknown(request)
        item = "/".join(re.findall(r"/job/([^/]+)", match.group(1)))
        rest = match.group(2)
        if rest == "createItem" and method == "POST":
            return self._create(item, request)
        if rest == "api/json" and method == "GET" and item in self.items:
            return Response(200, self._item_view(item, with_jobs=True))
        if rest == "config.xml" and item in self.items:
            return self._config(item, request)
        if rest == "submitDescription" and method == "POST" and item in self.items:
            self.items[item]["description"] = request.form().get("description", [""])[-1]
            return Response(200, "")
        if rest == "doDelete" and method == "POST" and item in self.items:
            for key in [k for k in self.items if k == item or k.startswith(item + "/")]:
                del self.items[key]
            self.credentials.pop(item, None)
            return Response(200, "")
        store = "credentials/store/folder/domain/_/"
        if rest.startswith(store) and self.items.get(item, {}).get("_class") == FOLDER:
            return self._credentials(item, rest[len(store) :], request)
        if item and item not in self.items:
            return Response(404, "Not Found", content_type="text/plain")
        return self._unknown(request)

    def _unknown(self, request: Request) -> Response:
        self.violations.append(f"{request.method} {request.path}: not an endpoint the test double implements")
        return Response(404, "Not Found", content_type="text/plain")

    # --------------------------------------------------------------------------------- items
    def _item_view(self, key: str, with_jobs: bool) -> dict[str, Any]:
        item = self.items[key]
        view = {"_class": item["_class"], "name": key.rsplit("/", 1)[-1], "description": item["description"]}
        if with_jobs and item["_class"] == FOLDER:
            view["jobs"] = self._tree_children(key)
        return view

    def _tree_children(self, parent: str) -> list[dict[str, Any]]:
        prefix = parent + "/" if parent else ""
        keys = sorted(k for k in self.items if k.startswith(prefix) and "/" not in k[len(prefix) :])
        return [self._item_view(k, with_jobs=False) for k in keys]

    def _tree(self, request: Request, parent: str) -> list[dict[str, Any]]:
        children = [
            self._item_view(k["name"] if not parent else f"{parent}/{k['name']}", with_jobs=True)
            for k in self._tree_children(parent)
        ]
        tree = request.arg("tree") or ""
        ranged = re.search(r"\{(\d*),(\d*)\}$", tree)
        if ranged:
            start = int(ranged.group(1) or 0)
            end = int(ranged.group(2)) if ranged.group(2) else len(children)
            children = children[start:end]
        return children

    def _parse(self, request: Request) -> ET.Element | Response:
        try:
            return ET.fromstring(request.body)  # noqa: S314 (XML the test sent)
        except ET.ParseError as exc:
            self.violations.append(f"{request.path}: XML not well formed: {exc}")
            return Response(400, f"not well formed: {exc}", content_type="text/plain")

    def _create(self, parent: str, request: Request) -> Response:
        name = request.arg("name") or ""
        key = f"{parent}/{name}" if parent else name
        if parent and self.items.get(parent, {}).get("_class") != FOLDER:
            return Response(404, "Not Found", content_type="text/plain")
        if key in self.items:
            return Response(400, f"A job already exists with the name '{name}'", content_type="text/plain")
        root = self._parse(request)
        if isinstance(root, Response):
            return root
        if root.tag not in ROOT_CLASSES:
            self.violations.append(f"createItem {key}: unknown item type {root.tag}")
            return Response(400, f"unknown item type {root.tag}", content_type="text/plain")
        self.items[key] = {
            "_class": ROOT_CLASSES[root.tag],
            "description": root.findtext("description") or "",
            "xml": request.body.decode(),
        }
        if root.tag != "flow-definition":
            self.credentials.setdefault(key, {})
        return Response(200, "")

    def _config(self, key: str, request: Request) -> Response:
        item = self.items[key]
        if request.method == "GET":
            return Response(200, item["xml"], content_type="application/xml")
        if request.method != "POST":
            return self._unknown(request)
        root = self._parse(request)
        if isinstance(root, Response):
            return root
        if ROOT_CLASSES.get(root.tag) != item["_class"]:
            self.violations.append(f"config.xml of {key}: cannot change the item type to {root.tag}")
            return Response(400, "cannot change the type of an item", content_type="text/plain")
        if item["_class"] == FOLDER:
            self.credentials[key] = {}  # the folder's properties are replaced: its credentials go too
        item.update(description=root.findtext("description") or "", xml=request.body.decode())
        return Response(200, "")

    # --------------------------------------------------------------------------- credentials
    def _credentials(self, folder: str, rest: str, request: Request) -> Response:
        store = self.credentials.setdefault(folder, {})
        if rest == "api/json" and request.method == "GET":
            return Response(
                200, {"credentials": [{"id": i, "description": c["description"]} for i, c in sorted(store.items())]}
            )
        if rest == "createCredentials" and request.method == "POST":
            parsed = self._credential(request)
            if isinstance(parsed, Response):
                return parsed
            if parsed["id"] in store:
                return Response(409, f"duplicate credential id {parsed['id']}", content_type="text/plain")
            store[parsed["id"]] = parsed
            return Response(200, "")
        match = re.fullmatch(r"credential/([^/]+)/(config\.xml|api/json)", rest)
        if not match or match.group(1) not in store:
            return Response(404, "Not Found", content_type="text/plain")
        cid = match.group(1)
        if match.group(2) == "api/json":
            return Response(200, {"id": cid, "description": store[cid]["description"]})
        if request.method == "DELETE":
            del store[cid]
            return Response(200, "")
        if request.method == "POST":
            parsed = self._credential(request)
            if isinstance(parsed, Response):
                return parsed
            if parsed["id"] != cid:
                return Response(400, "the id of a credential cannot change", content_type="text/plain")
            store[cid] = parsed
            return Response(200, "")
        return self._unknown(request)

    def _credential(self, request: Request) -> dict[str, Any] | Response:
        root = self._parse(request)
        if isinstance(root, Response):
            return root
        if root.tag not in CREDENTIAL_CLASSES or not root.findtext("id") or not root.findtext("scope"):
            self.violations.append(f"credential XML: unknown class {root.tag} or no id/scope")
            return Response(400, "bad credential", content_type="text/plain")
        secrets = {e.tag: e.text or "" for e in root.iter() if e.tag in SECRET_FIELDS}
        return {
            "id": root.findtext("id"),
            "class": root.tag,
            "description": root.findtext("description") or "",
            "secrets": secrets,
        }

    # ---------------------------------------------------------------------------------- JCasC
    def _configure(self, request: Request) -> Response:
        try:
            doc = yaml.safe_load(request.body) or {}
        except yaml.YAMLError as exc:
            return Response(400, f"invalid YAML: {exc}", content_type="text/plain")
        problems = self._casc_problems(doc)
        if problems:
            self.violations += problems
            return Response(400, "; ".join(problems), content_type="text/plain")
        doc = _walk_secrets(doc, _decrypt)
        for root, attrs in doc.items():
            target = self.casc.setdefault(root, {})
            for attr, value in attrs.items():
                target[attr] = copy.deepcopy(value)  # JCasC replaces what it declares
        return Response(200, "")

    def _casc_problems(self, doc: dict[str, Any]) -> list[str]:
        problems = [
            f"JCasC: unknown root element {r!r}"
            for r in doc
            if r not in ("jenkins", "credentials", "unclassified", "tool", "security")
        ]
        for cloud in (doc.get("jenkins") or {}).get("clouds") or []:
            for kind, body in cloud.items():
                if kind != "kubernetes":
                    continue
                problems += [f"JCasC: kubernetes cloud: unknown attribute {k!r}" for k in set(body) - CLOUD_KEYS]
                for template in body.get("templates") or []:
                    problems += [f"JCasC: pod template: unknown attribute {k!r}" for k in set(template) - TEMPLATE_KEYS]
                    for container in template.get("containers") or []:
                        problems += [
                            f"JCasC: container: unknown attribute {k!r}" for k in set(container) - CONTAINER_KEYS
                        ]
        return sorted(problems)

    # ---------------------------------------------------------------------------- test views
    def system_credential(self, cred_id: str) -> dict[str, Any] | None:
        for domain in ((self.casc.get("credentials") or {}).get("system") or {}).get("domainCredentials") or []:
            for cred in domain.get("credentials") or []:
                for body in cred.values():
                    if body.get("id") == cred_id:
                        return body
        return None


def form_value(body: bytes, name: str) -> str:
    return parse_qs(body.decode()).get(name, [""])[-1]
