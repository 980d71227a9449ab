"""STAND-IN for GitLab omnibus (Dockyard tests only; never part of the product): shared parts of its
executables. Runs on the lab host with Debian's python3 and ruby; standard library only."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path("/opt/gitlab/embedded/dockyard-standin")
GITLAB_RB = Path("/etc/gitlab/gitlab.rb")
SECRETS = Path("/etc/gitlab/gitlab-secrets.json")
TRUSTED = Path("/etc/gitlab/trusted-certs")
STATE = Path("/var/opt/gitlab/dockyard-standin/state.json")
SERVICE = Path("/var/opt/gitlab/dockyard-standin/service.json")
MANIFEST = Path("/opt/gitlab/version-manifest.json")
UNIT = "gitlab-runsvdir.service"

sys.path.insert(0, "/usr/lib/dockyard-standin")
sys.path.insert(0, str(HERE))


def version() -> str:
    """The package version this stand-in is (``19.3.0-ce.0``)."""
    return str(json.loads(MANIFEST.read_text())["dockyard_package_version"])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def settings() -> dict[str, Any]:
    """gitlab.rb evaluated by Ruby, as omnibus does: every setting it assigns, as JSON."""
    proc = subprocess.run(
        ["ruby", "-W0", str(HERE / "read_gitlab_rb.rb"), str(GITLAB_RB)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"gitlab.rb: Ruby could not evaluate it: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def read_state() -> dict[str, Any]:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def write_json(path: Path, data: Any, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_service() -> dict[str, Any]:
    return json.loads(SERVICE.read_text()) if SERVICE.exists() else {}
