"""STAND-IN for the Jenkins controller (tests only; never shipped; NOT Jenkins).

The stand-in package installs this as the program behind /usr/bin/jenkins, which the upstream
systemd unit starts. It reads what the real controller reads and behaves as it does where
Dockyard depends on it:

* the environment of the packaged unit and its override: JENKINS_HOME, JENKINS_PORT,
  JENKINS_LISTEN_ADDRESS, JAVA_OPTS (``-Djenkins.install.runSetupWizard=false`` or the setup
  wizard's ``secrets/initialAdminPassword`` appears, as Jenkins writes it), CASC_JENKINS_CONFIG
  (a file or a directory of *.yaml/*.yml) and SECRETS (the JCasC plugin's directory of secret files);
* JENKINS_HOME/plugins/*.jpi: each plugin's META-INF/MANIFEST.MF (Short-Name, Plugin-Version,
  Plugin-Dependencies), unpacked into plugins/<id>/ at start as Jenkins does. A required
  dependency that is missing or older stops the start, as a plugin that fails to load stops a
  JCasC-configured controller; JCasC is applied only when the configuration-as-code plugin is there;
* the JCasC local realm's users and passwords become the API's logins; API tokens made with
  generateNewToken are kept in JENKINS_HOME/users/<id>/ (so they survive restarts, as Jenkins' do);
* POST /configuration-as-code/reload re-reads the JCasC sources; POST /quietDown is logged.

It serves the Jenkins API test double (tests/fakes/jenkins.py, carried in the package) over plain
HTTP on the listen address, exactly where Jenkins would; TLS is the role's nginx in front of it.
Every start, plugin refusal and reload is recorded in the stand-in call log.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import sys
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # standin_lib.py
sys.path.insert(0, str(Path(__file__).resolve().parent))
import standin_lib

from tests.fakes.http_types import read_request, write_response
from tests.fakes.jenkins import JenkinsDouble

CASC_PLUGIN = "configuration-as-code"


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-_]", version))


def manifest(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        text = archive.read("META-INF/MANIFEST.MF").decode()
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith(" ") and key:
            fields[key] += line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def load_plugins(plugin_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Installed plugins (id -> version) and the reasons any cannot load."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(plugin_dir.glob("*.jpi")) if plugin_dir.is_dir() else []:
        found[path.stem] = manifest(path)
    versions = {pid: m.get("Plugin-Version", "") for pid, m in found.items()}
    problems: list[str] = []
    for pid, fields in sorted(found.items()):
        for dep in filter(None, (d.strip() for d in fields.get("Plugin-Dependencies", "").split(","))):
            name, _, rest = dep.partition(":")
            minimum, _, options = rest.partition(";")
            if "resolution:=optional" in options:
                continue
            have = versions.get(name)
            if have is None:
                problems.append(f"Failed to load: {pid} ({versions[pid]}) - Plugin is missing: {name} ({minimum})")
            elif version_key(have) < version_key(minimum):
                problems.append(
                    f"Failed to load: {pid} ({versions[pid]}) - "
                    f"Update required: {name} ({have}) to be updated to {minimum}"
                )
    return versions, problems


def explode(plugin_dir: Path) -> None:
    """Unpack each plugin into ``plugins/<id>/`` as Jenkins does at start (when the archive is newer
    than the folder), so the role's sync and backups meet the same layout."""
    for path in sorted(plugin_dir.glob("*.jpi")) if plugin_dir.is_dir() else []:
        target = plugin_dir / path.stem
        if target.is_dir() and target.stat().st_mtime >= path.stat().st_mtime:
            continue
        with zipfile.ZipFile(path) as archive:
            archive.extractall(target)
        os.utime(target)


def casc_documents(source: str) -> list[dict[str, Any]]:
    path = Path(source)
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
    docs = []
    for file in files:
        loaded = yaml.safe_load(file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise SystemExit(f"JCasC: {file}: not a mapping")
        docs.append(loaded)
    return docs


def resolve(node: Any, secrets_dir: Path) -> Any:
    """``${name}`` from the SECRETS directory (one file per secret) or the environment."""
    if isinstance(node, dict):
        return {k: resolve(v, secrets_dir) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, secrets_dir) for v in node]
    if isinstance(node, str):

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            file = secrets_dir / name
            if file.is_file():
                return file.read_text().strip()
            if name in os.environ:
                return os.environ[name]
            raise SystemExit(f"JCasC: unresolved secret ${{{name}}}")

        return re.sub(r"\$\{([A-Za-z0-9_.-]+)\}", value, node)
    return node


class Controller:
    def __init__(self) -> None:
        self.home = Path(os.environ.get("JENKINS_HOME", "/var/lib/jenkins"))
        self.casc = os.environ.get("CASC_JENKINS_CONFIG", "")
        self.secrets_dir = Path(os.environ.get("SECRETS", "/run/secrets"))
        self.double = JenkinsDouble(api_token="")
        self.double.on_reload = self.apply_casc
        self.plugins: dict[str, str] = {}

    def start(self) -> None:
        self.plugins, problems = load_plugins(self.home / "plugins")
        standin_lib.record("jenkins", ["start"], plugins=len(self.plugins), problems=problems)
        if problems:
            for line in problems:
                print(line, file=sys.stderr)
            raise SystemExit(1)
        explode(self.home / "plugins")
        if "-Djenkins.install.runSetupWizard=false" not in os.environ.get("JAVA_OPTS", ""):
            wizard = self.home / "secrets" / "initialAdminPassword"
            wizard.parent.mkdir(parents=True, exist_ok=True)
            if not wizard.exists():
                wizard.write_text(secrets.token_hex(16) + "\n")
        self.load_tokens()
        self.apply_casc()

    def apply_casc(self) -> None:
        if not self.casc or CASC_PLUGIN not in self.plugins:
            return
        users: dict[str, str] = {}
        for raw in casc_documents(self.casc):
            doc = resolve(raw, self.secrets_dir)
            problems = self.double._casc_problems(doc)
            if problems:
                raise SystemExit("; ".join(problems))
            realm = (doc.get("jenkins") or {}).get("securityRealm") or {}
            for user in (realm.get("local") or {}).get("users") or []:
                users[str(user["id"])] = str(user.get("password", ""))
            for root, attrs in doc.items():
                self.double.casc.setdefault(root, {}).update(attrs)
        self.double.passwords = users
        standin_lib.record("jenkins", ["casc-apply", self.casc], users=sorted(users))

    def token_file(self, user: str) -> Path:
        return self.home / "users" / user / "dockyard-standin-tokens.json"

    def load_tokens(self) -> None:
        for file in (self.home / "users").glob("*/dockyard-standin-tokens.json"):
            self.double.tokens[file.parent.name] = json.loads(file.read_text())

    def save_tokens(self) -> None:
        for user, tokens in self.double.tokens.items():
            file = self.token_file(user)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(tokens))
            file.chmod(0o600)


def handler(controller: Controller) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            request = read_request(self)
            answer = controller.double.handle(request)
            if "generateNewToken" in request.path and answer.status == 200:
                controller.save_tokens()
            if request.path in ("/configuration-as-code/reload", "/quietDown") and request.method == "POST":
                standin_lib.record("jenkins", [request.path.rsplit("/", 1)[-1]], status=answer.status)
            answer.headers.setdefault("X-Jenkins", os.environ.get("DOCKYARD_STANDIN_VERSION", "stand-in"))
            if request.headers.get("connection", "").lower() == "close":
                # Say so, as Jetty does: nginx (keepalive pool, "Connection: close" upstream for
                # non-upgrade requests) would otherwise reuse the closed connection and answer a POST 502.
                answer.headers["Connection"] = "close"
            write_response(self, answer)

        do_GET = do_POST = do_DELETE = do_HEAD = _serve

    return Handler


def notify_ready() -> None:
    """sd_notify READY=1: the packaged unit is Type=notify."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1")


def _stop(*_: object) -> None:
    raise SystemExit(143)  # SuccessExitStatus=143 in the packaged unit


def main() -> None:
    controller = Controller()
    controller.start()
    bind = os.environ.get("JENKINS_LISTEN_ADDRESS") or "0.0.0.0"  # noqa: S104 (Jenkins' default)
    server = ThreadingHTTPServer((bind, int(os.environ.get("JENKINS_PORT", "8080"))), handler(controller))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, _stop)
    notify_ready()
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
