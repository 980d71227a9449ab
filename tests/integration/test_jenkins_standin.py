"""The stand-in Jenkins package (tests/standins/jenkins) keeps the contract the role relies on:
built as a real .deb named like upstream, its program refuses to start when a plugin's dependency
is missing, applies the JCasC directory (local realm, password from the SECRETS directory), issues
API tokens that survive a restart, and re-reads JCasC on the reload call. The program runs here
from the unpacked package, on 127.0.0.1, with the role's own JCasC document and override values."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard import catalogue
from tests.standins.jenkins import build_jenkins, build_plugin
from tests.unit.test_jenkins_lock_and_casc import _role_template

VERSION = "2.541.3"
LOCK = catalogue.product()["jenkins_plugins"]["artefacts"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("jenkins-deb")
    built = build_jenkins(out, VERSION)
    assert built.path.name == f"jenkins_{VERSION}_all.deb"
    fields = subprocess.run(["dpkg-deb", "-f", str(built.path)], capture_output=True, text=True, check=True).stdout
    assert "Package: jenkins" in fields and f"Version: {VERSION}" in fields and "STAND-IN" in fields
    root = out / "root"
    subprocess.run(["dpkg-deb", "-x", str(built.path), str(root)], check=True)
    unit = (root / "lib/systemd/system/jenkins.service").read_text()
    assert "ExecStart=/usr/bin/jenkins" in unit and "Type=notify" in unit and "@@" not in unit
    return root


class Home:
    def __init__(self, base: Path, package: Path) -> None:
        self.base, self.package = base, package
        self.home = base / "home"
        self.casc = self.home / "casc.d"
        self.secrets = base / "secrets"
        self.port = _free_port()
        for d in (self.home / "plugins", self.casc, self.secrets):
            d.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[str] | None = None

    def plugins(self, lock: dict[str, dict[str, object]]) -> None:
        for pid, entry in lock.items():
            built = build_plugin(self.base / "hpi", pid, str(entry["version"]), dict(entry.get("requires") or {}))  # type: ignore[arg-type]
            (self.home / "plugins" / f"{pid}.jpi").write_bytes(built.path.read_bytes())

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "JENKINS_HOME": str(self.home),
            "JENKINS_PORT": str(self.port),
            "JENKINS_LISTEN_ADDRESS": "127.0.0.1",
            "JAVA_OPTS": "-Djava.awt.headless=true -Djenkins.install.runSetupWizard=false",
            "CASC_JENKINS_CONFIG": str(self.casc),
            "SECRETS": str(self.secrets),
            "DOCKYARD_STANDIN_LOG": str(self.base / "calls.jsonl"),
        }

    def run(self) -> subprocess.CompletedProcess[str]:
        runner = self.package / "usr/lib/dockyard-standin/jenkins/runner.py"
        return subprocess.run(
            [sys.executable, str(runner)], env=self.env(), capture_output=True, text=True, timeout=30, check=False
        )

    def start(self) -> None:
        runner = self.package / "usr/lib/dockyard-standin/jenkins/runner.py"
        self.proc = subprocess.Popen([sys.executable, str(runner)], env=self.env(), text=True, stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                self.call("GET", "/login")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the stand-in did not answer /login")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            assert self.proc.wait(10) == 143
            self.proc = None

    def call(
        self,
        method: str,
        path: str,
        auth: str = "",
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        data = urllib.parse.urlencode(form).encode() if form is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=5) as answer:  # noqa: S310 (loopback)
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def post_as(self, auth: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
        _, headers, body = self.call("GET", "/crumbIssuer/api/json", auth)
        crumb = json.loads(body)["crumb"]
        cookie = headers["Set-Cookie"].split(";")[0]
        status, _, answer = self.call("POST", path, auth, form or {}, {"Jenkins-Crumb": crumb, "Cookie": cookie})
        return status, answer


@pytest.fixture
def home(tmp_path: Path, package: Path) -> Iterator[Home]:
    h = Home(tmp_path, package)
    yield h
    h.stop()


def test_a_missing_plugin_dependency_stops_the_start(home: Home) -> None:
    lock = {k: v for k, v in LOCK.items() if k != "jersey2-api"}  # gitlab-plugin needs it
    home.plugins(lock)
    proc = home.run()
    assert proc.returncode == 1
    assert (
        f"Failed to load: gitlab-plugin ({LOCK['gitlab-plugin']['version']}) - Plugin is missing: jersey2-api"
        in proc.stderr
    )


def test_an_older_dependency_stops_the_start(home: Home) -> None:
    lock = {**LOCK, "bouncycastle-api": {**LOCK["bouncycastle-api"], "version": "2.16.0"}}
    home.plugins(lock)
    proc = home.run()
    assert proc.returncode == 1 and "Update required: bouncycastle-api (2.16.0) to be updated to 2.16.3" in proc.stderr


def test_jcasc_security_tokens_and_reload(home: Home) -> None:
    home.plugins(LOCK)
    (home.casc / "00-dockyard-security.yaml").write_text(_role_template("casc-security.yaml.j2"))
    (home.secrets / "jenkins-admin-password").write_text("first-pw\n")
    home.start()
    assert home.call("GET", "/login")[0] == 200
    assert home.call("GET", "/whoAmI/api/json", "admin:wrong")[0] == 401
    status, _, body = home.call("GET", "/whoAmI/api/json", "admin:first-pw")
    assert status == 200 and json.loads(body)["authenticated"] is True
    assert not (home.home / "secrets" / "initialAdminPassword").exists()  # no setup wizard
    # a password POST without the session's crumb is refused, with it the token is made
    assert (
        home.call(
            "POST",
            "/user/admin/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
            "admin:first-pw",
            {"newTokenName": "x"},
        )[0]
        == 403
    )
    status, body = home.post_as(
        "admin:first-pw",
        "/user/admin/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
        {"newTokenName": "dockyard-seed"},
    )
    token = json.loads(body)["data"]["tokenValue"]
    assert status == 200 and token.startswith("11") and len(token) == 34
    assert home.call("GET", "/whoAmI/api/json", f"admin:{token}")[0] == 200
    # a JCasC change is a reload: the new password works, the old one no longer does, no restart
    (home.secrets / "jenkins-admin-password").write_text("second-pw\n")
    assert home.post_as("admin:first-pw", "/configuration-as-code/reload")[0] == 200
    assert home.call("GET", "/whoAmI/api/json", "admin:second-pw")[0] == 200
    assert home.call("GET", "/whoAmI/api/json", "admin:first-pw")[0] == 401
    # the token survives a restart, as Jenkins keeps it in JENKINS_HOME/users
    home.stop()
    home.start()
    assert home.call("GET", "/whoAmI/api/json", f"admin:{token}")[0] == 200
    calls = [json.loads(line) for line in (home.base / "calls.jsonl").read_text().splitlines()]
    assert [c["argv"][0] for c in calls] == ["start", "casc-apply", "casc-apply", "reload", "start", "casc-apply"]


def test_the_wizard_appears_without_the_property(home: Home) -> None:
    home.plugins({"configuration-as-code": LOCK["configuration-as-code"]})
    env_opts = home.env
    home.env = lambda: {**env_opts(), "JAVA_OPTS": "-Djava.awt.headless=true"}  # type: ignore[method-assign]
    home.start()
    assert (home.home / "secrets" / "initialAdminPassword").is_file()
