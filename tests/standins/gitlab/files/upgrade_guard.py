"""STAND-IN (Dockyard tests only): omnibus' pre-install upgrade check. Installing release X over an
installed minor older than X's MIN_VERSION fails: 'It is required to upgrade to the latest
<MIN_VERSION>.x version first' (omnibus-gitlab config/templates/package-scripts/preinst.erb)."""

from __future__ import annotations

import json
import sys

sys.path.insert(0, "/opt/gitlab/embedded/dockyard-standin")
import common as c


def minor(version: str) -> tuple[int, int]:
    major, minor_, _rest = version.split(".", 2)
    return int(major), int(minor_)


def main(old: str) -> int:
    if not old:
        return 0
    floor = json.loads(c.MANIFEST.read_text())["dockyard_min_installed_minor"]
    if minor(old) < minor(floor + ".0"):
        print(f"It is required to upgrade to the latest {floor}.x version first", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
