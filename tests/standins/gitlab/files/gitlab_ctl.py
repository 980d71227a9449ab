#!/usr/bin/python3
"""STAND-IN `gitlab-ctl` (Dockyard tests only; not GitLab). Documented subcommands only (omnibus
docs: settings/configuration, maintenance, backups); every call recorded. reconfigure validates
gitlab.rb like omnibus would refuse it (Ruby syntax, keys of gitlab.rb.template), keeps
gitlab-secrets.json, trusts /etc/gitlab/trusted-certs, sets the root password on the first run
and (re)starts the service: the GitLab API test double on 443 with gitlab.rb's certificate."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, "/opt/gitlab/embedded/dockyard-standin")
import common as c
import gitlab_rb
import standin_lib as s

SPEC = {
    "reconfigure": {"args": (0, 0)},
    "status": {"args": (0, 1)},
    "start": {"args": (0, 1)},
    "stop": {"args": (0, 1)},
    "restart": {"args": (0, 1)},
    "backup-etc": {"flags": {"--backup-path": True, "--delete-old-backups": False}},
}


def reconfigure() -> int:
    if not c.GITLAB_RB.is_file():
        s.fail("gitlab-ctl reconfigure: /etc/gitlab/gitlab.rb not found")
    known = set(json.loads((c.HERE / "gitlab_rb_keys.json").read_text()))
    problems = gitlab_rb.problems(c.GITLAB_RB.read_text(), known)
    if problems:
        s.fail("gitlab-ctl reconfigure: " + "; ".join(problems))
    conf = c.settings()
    url = str(conf.get("external_url") or "")
    if not url.startswith("https://"):
        s.fail(f"gitlab-ctl reconfigure: external_url {url!r}: this stand-in serves https only")
    nginx = (conf.get("gitlab_rails") or {}).get("nginx") or {}
    host = url.removeprefix("https://").split("/")[0]
    cert = nginx.get("ssl_certificate") or f"/etc/gitlab/ssl/{host}.crt"
    key = nginx.get("ssl_certificate_key") or f"/etc/gitlab/ssl/{host}.key"
    for path in (cert, key):
        if not Path(path).is_file():
            s.fail(f"gitlab-ctl reconfigure: {path}: not found (gitlab.rb names it)")
    if (conf.get("letsencrypt") or {}).get("enable") not in (False,) and not nginx.get("ssl_certificate"):
        s.fail("gitlab-ctl reconfigure: Let's Encrypt would be tried: this host has no internet")
    if not c.SECRETS.exists():  # omnibus generates it on the first reconfigure
        keys = ("secret_key_base", "db_key_base", "otp_key_base", "openid_connect_signing_key")
        c.write_json(c.SECRETS, {"gitlab_rails": {k: secrets.token_hex(64) for k in keys}})
    state = c.read_state()
    if "root_password_sha256" not in state:  # first reconfigure: the root account is created
        password = os.environ.get("GITLAB_ROOT_PASSWORD") or (conf.get("gitlab_rails") or {}).get(
            "initial_root_password"
        )
        if not password:
            password = secrets.token_urlsafe(24)
            Path("/etc/gitlab/initial_root_password").write_text(f"Password: {password}\n")
            os.chmod("/etc/gitlab/initial_root_password", 0o600)
        if len(password) < 8:
            s.fail("gitlab-ctl reconfigure: the root password needs 8 characters at least")
        state["root_password_sha256"] = c.digest(password)
        state.setdefault("tokens", [])
        c.write_json(c.STATE, state)
    ssl_certs = Path("/opt/gitlab/embedded/ssl/certs")
    ssl_certs.mkdir(parents=True, exist_ok=True)
    for crt in sorted(c.TRUSTED.glob("*")) if c.TRUSTED.is_dir() else []:
        link = ssl_certs / crt.name
        if not link.is_symlink():
            link.symlink_to(crt)
    rails = conf.get("gitlab_rails") or {}
    c.write_json(
        c.SERVICE,
        {
            "cert": cert,
            "key": key,
            "monitoring_whitelist": rails.get("monitoring_whitelist") or ["127.0.0.0/8", "::1/128"],
            "backup_path": rails.get("backup_path") or "/var/opt/gitlab/backups",
            "external_url": url,
        },
    )
    subprocess.run(["systemctl", "enable", c.UNIT], check=True, capture_output=True)
    subprocess.run(["systemctl", "restart", c.UNIT], check=True)
    print("gitlab Reconfigured!")
    return 0


def status() -> int:
    active = subprocess.run(["systemctl", "is-active", "--quiet", c.UNIT], check=False).returncode == 0
    if active:
        print("run: puma: (pid 1) 1s; run: log: (pid 1) 1s")
        print("run: nginx: (pid 1) 1s; run: log: (pid 1) 1s")
        return 0
    print("down: puma: 0s, normally up; run: log: (pid 1) 1s")
    print("down: nginx: 0s, normally up; run: log: (pid 1) 1s")
    return 3


def backup_etc(cmd: s.Command) -> int:
    folder = Path(cmd.flag("--backup-path") or "/etc/gitlab/config_backup")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = time.time()
    target = folder / f"gitlab_config_{int(now)}_{time.strftime('%Y_%m_%d', time.gmtime(now))}.tar"
    with tarfile.open(target, "w") as tar:
        tar.add("/etc/gitlab", arcname="gitlab", filter=lambda t: None if "config_backup" in t.name else t)
    os.chmod(target, 0o600)
    print(f"Configuration backup archive complete: {target}")
    return 0


def main() -> int:
    cmd = s.parse("gitlab-ctl", sys.argv[1:], SPEC)
    if cmd.subcommand == "reconfigure":
        return reconfigure()
    if cmd.subcommand == "status":
        return status()
    if cmd.subcommand == "backup-etc":
        return backup_etc(cmd)
    verb = {"start": "start", "stop": "stop", "restart": "restart"}[cmd.subcommand]
    return subprocess.run(["systemctl", verb, c.UNIT], check=False).returncode


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
