"""Builds the STAND-IN gitlab-ce / gitlab-ee package (Dockyard tests only; never shipped).

Upstream layout: /opt/gitlab/bin/{gitlab-ctl,gitlab-backup,gitlab-rails}, /opt/gitlab/version-manifest.json,
the /usr/bin symlinks made by the postinst, gitlab-runsvdir.service. Inside it: the GitLab API test
double (tests/fakes/gitlab.py and its plumbing) that its service runs on 443, the gitlab.rb key
list from omnibus' gitlab.rb.template, and the digests of the only runner scripts it accepts (the
files roles/tools/gitlab sends, read when the package is built). Named like upstream:
gitlab-ce_19.3.0-ce.0_amd64.deb.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from tests.standins.built import Built
from tests.standins.debs import build_deb
from tests.standins.gitlab import gitlab_rb

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
TEMPLATE = ROOT / "tests" / "reference" / "gitlab" / "omnibus" / "gitlab.rb.template"
GUARDS = ROOT / "tests" / "reference" / "gitlab" / "derived" / "omnibus-preinst-upgrade-guards.yaml"
ROLE_FILES = ROOT / "roles" / "tools" / "gitlab" / "files"
ROLE_TASKS = ROOT / "roles" / "tools" / "gitlab" / "tasks"
LIB = "/opt/gitlab/embedded/dockyard-standin"

UNIT = """[Unit]
Description=STAND-IN GitLab (Dockyard tests only): the GitLab API test double on 443
After=network.target

[Service]
ExecStart=/usr/bin/python3 /opt/gitlab/embedded/dockyard-standin/service.py
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def _min_installed_minor(version: str) -> str:
    """omnibus' MIN_VERSION for this release (the reference data; the newest known one beyond it)."""
    major, minor = (int(x) for x in version.split(".")[:2])
    releases = yaml.safe_load(GUARDS.read_text())["releases"]
    known = [r for r in releases if tuple(int(x) for x in r["tag"].split(".")[:2]) <= (major, minor)]
    return str(known[-1]["min_installed_minor"]) if known else "0.0"


def _inline_scripts() -> dict[str, str]:
    """The `gitlab-rails runner -e production '<code>'` one-liners the role's tasks send."""
    found: dict[str, str] = {}

    def walk(tasks: list[object]) -> None:
        for task in tasks:
            if not isinstance(task, dict):
                continue
            for key in ("block", "rescue", "always"):
                walk(task.get(key) or [])
            command = task.get("ansible.builtin.command")
            argv = command.get("argv") or [] if isinstance(command, dict) else []
            if argv[:4] == ["gitlab-rails", "runner", "-e", "production"] and "{{" not in argv[4]:
                found[argv[4]] = "print_zero"

    for tasks in ROLE_TASKS.glob("*.yml"):
        walk(yaml.safe_load(tasks.read_text()) or [])
    return found


def build(out_dir: Path, version: str = "19.3.0-ce.0", arch: str = "amd64") -> Built:
    edition = version.split("-")[1].split(".", maxsplit=1)[0]
    package = f"gitlab-{edition}"
    allowed = {
        "files": {hashlib.sha256(p.read_bytes()).hexdigest(): "create_token" for p in ROLE_FILES.glob("*.rb")},
        "inline": _inline_scripts(),
    }
    manifest = {
        "manifest_format": 2,
        "build_version": version.replace("-", "+", 1),
        "license": "STAND-IN (Dockyard tests only)",
        "software": {},
        "dockyard_package_version": version,
        "dockyard_min_installed_minor": _min_installed_minor(version),
    }

    def code(name: str) -> bytes:
        return (FILES / name).read_bytes()

    files: dict[str, bytes | tuple[bytes, int]] = {
        "/opt/gitlab/bin/gitlab-ctl": (code("gitlab_ctl.py"), 0o755),
        "/opt/gitlab/bin/gitlab-backup": (code("gitlab_backup.py"), 0o755),
        "/opt/gitlab/bin/gitlab-rails": (code("gitlab_rails.py"), 0o755),
        "/opt/gitlab/version-manifest.json": json.dumps(manifest, indent=2).encode(),
        "/usr/lib/systemd/system/gitlab-runsvdir.service": UNIT.encode(),
        f"{LIB}/common.py": code("common.py"),
        f"{LIB}/service.py": code("service.py"),
        f"{LIB}/upgrade_guard.py": code("upgrade_guard.py"),
        f"{LIB}/read_gitlab_rb.rb": code("read_gitlab_rb.rb"),
        f"{LIB}/gitlab_rb.py": (HERE / "gitlab_rb.py").read_bytes(),
        f"{LIB}/gitlab_rb_keys.json": json.dumps(sorted(gitlab_rb.template_keys(TEMPLATE.read_text()))).encode(),
        f"{LIB}/allowed_scripts.json": json.dumps(allowed, indent=2).encode(),
        f"{LIB}/tests/__init__.py": b"",
        f"{LIB}/tests/fakes/__init__.py": (ROOT / "tests" / "fakes" / "__init__.py").read_bytes(),
        f"{LIB}/tests/fakes/server.py": (ROOT / "tests" / "fakes" / "server.py").read_bytes(),
        f"{LIB}/tests/fakes/http_types.py": (ROOT / "tests" / "fakes" / "http_types.py").read_bytes(),
        f"{LIB}/tests/fakes/gitlab.py": (ROOT / "tests" / "fakes" / "gitlab.py").read_bytes(),
    }
    return build_deb(
        out_dir,
        package,
        version,
        arch,
        files,
        depends=["python3", "ruby"],
        description=f"STAND-IN for GitLab {edition.upper()} {version} (Dockyard tests only; not GitLab)",
        postinst=code("postinst.sh").decode(),
    )
