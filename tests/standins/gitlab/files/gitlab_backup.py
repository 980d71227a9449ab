#!/usr/bin/python3
"""STAND-IN `gitlab-backup` (Dockyard tests only; not GitLab): `gitlab-backup create` with the
documented KEY=VALUE options (administration/backup_restore/backup_gitlab). Writes
<backup_path>/<epoch>_<Y_m_d>_<version>_gitlab_backup.tar, GitLab's naming, holding the stand-in's
state (the API test double keeps its objects in memory only, so they are not in it)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, "/opt/gitlab/embedded/dockyard-standin")
import common as c
import standin_lib as s

OPTIONS = {
    "STRATEGY",
    "SKIP",
    "BACKUP",
    "GZIP_RSYNCABLE",
    "INCREMENTAL",
    "PREVIOUS_BACKUP",
    "REPOSITORIES_SERVER_SIDE",
    "CRON",
}


def main() -> int:
    argv = sys.argv[1:]
    s.record("gitlab-backup", argv)
    if not argv or argv[0] != "create":
        s.unsupported(f"gitlab-backup subcommand {' '.join(argv[:1])!r}")
    for option in argv[1:]:
        name, eq, value = option.partition("=")
        if not eq or name not in OPTIONS:
            s.unsupported(f"gitlab-backup create option {option!r}")
        if name == "STRATEGY" and value != "copy":
            s.unsupported(f"gitlab-backup create STRATEGY={value}")
    if subprocess.run(["systemctl", "is-active", "--quiet", c.UNIT], check=False).returncode != 0:
        s.fail("gitlab-backup create: GitLab is not running (gitlab-ctl status)")
    folder = Path(c.read_service().get("backup_path", "/var/opt/gitlab/backups"))
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    release = c.version().rsplit(".", 1)[0]  # 19.3.0-ce.0 -> 19.3.0-ce
    target = folder / f"{int(now)}_{time.strftime('%Y_%m_%d', time.gmtime(now))}_{release}_gitlab_backup.tar"
    with tarfile.open(target, "w") as tar:
        tar.add(str(c.STATE), arcname="dockyard-standin/state.json")
        tar.add(str(c.MANIFEST), arcname="backup_information.json")
    os.chmod(target, 0o600)
    print(f"Backup {target.name.removesuffix('_gitlab_backup.tar')} is done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
