#!/usr/bin/python3
"""STAND-IN `gitlab-rails` (Dockyard tests only; not GitLab): only `gitlab-rails runner -e
production` with exactly the scripts roles/tools/gitlab sends (allowed_scripts.json, made from
the role's files when the package is built), everything else refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, "/opt/gitlab/embedded/dockyard-standin")
import common as c
import standin_lib as s

SPEC = {"runner": {"flags": {"-e": True}, "args": (1, 1)}}


def create_token() -> int:
    for name in ("DOCKYARD_TOKEN", "DOCKYARD_TOKEN_NAME", "DOCKYARD_TOKEN_SCOPES", "DOCKYARD_TOKEN_DAYS"):
        if not os.environ.get(name):
            s.fail(f"gitlab-rails runner: KeyError: key not found: {name!r}")
    token = os.environ["DOCKYARD_TOKEN"]
    if len(token) != 20:
        s.fail("gitlab-rails runner: the token must be 20 characters long")
    state = c.read_state()
    if "root_password_sha256" not in state:
        s.fail("gitlab-rails runner: RuntimeError: dockyard: no root user")
    tokens = state.setdefault("tokens", [])
    name = os.environ["DOCKYARD_TOKEN_NAME"]
    for t in tokens:
        if t["name"] == name and not t["revoked"]:
            t["revoked"] = True
    expires = dt.date.today() + dt.timedelta(days=int(os.environ["DOCKYARD_TOKEN_DAYS"]))
    tokens.append(
        {
            "id": len(tokens) + 1,
            "name": name,
            "sha256": c.digest(token),
            "scopes": os.environ["DOCKYARD_TOKEN_SCOPES"].split(","),
            "expires_at": expires.isoformat(),
            "revoked": False,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
        }
    )
    c.write_json(c.STATE, state)
    print(f"dockyard: token {name} created")
    return 0


def main() -> int:
    cmd = s.parse("gitlab-rails", sys.argv[1:], SPEC)
    if cmd.flag("-e") != "production":
        s.unsupported(f"gitlab-rails runner -e {cmd.flag('-e')}")
    allowed = json.loads((c.HERE / "allowed_scripts.json").read_text())
    code = cmd.args[0]
    path = Path(code)
    if path.is_absolute() and path.is_file():
        action = allowed["files"].get(hashlib.sha256(path.read_bytes()).hexdigest())
    else:
        action = allowed["inline"].get(code)
    if action == "create_token":
        return create_token()
    if action == "print_zero":  # no batched background migration queued or failed
        print("0")
        return 0
    s.unsupported(f"gitlab-rails runner script {code[:80]!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
