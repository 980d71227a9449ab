"""The local lab's vendor artefacts. This machine has no internet and no GitLab, Harbor, Jenkins or
kubeadm, so the lab's artefacts are the STAND-INS of this checkout's test suite
(tests/standins/lab_feed.py): built here, served under their upstream names by a fake internet on
loopback, bundled by `invoke bundle.build` exactly as on a connected machine, and then verified and
loaded into the lab's mirror by the bootstrap. Only a checkout has them: the lab is a development
tool, never part of an installation."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from dockyard.localhosts import image
from dockyard.problems import DockyardError

BUNDLE = Path("lab") / "bundle"  # under the state folder (.dockyard)
INTERNET = Path("lab") / "internet"


def _checkout(root: Path) -> None:
    if not (root / "tests" / "standins" / "lab_feed.py").is_file():
        raise DockyardError(
            f"{root}: the local lab needs this repository's tests/standins (its vendor artefacts are "
            "stand-ins built from them): run it from a full checkout"
        )


def prepare(root: Path, say: Callable[[str], None] = print) -> Path:
    """Build (or reuse) the stand-ins, bundle them, and return the bundle folder."""
    _checkout(root)
    state = root / ".dockyard"
    tag, _built = image.ensure(state / "image-build", state / "image-build.log")
    bundle = state / BUNDLE
    say("lab: vendor artefacts are STAND-INS (tests/standins), bundled through a fake internet on loopback")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.standins.lab_feed", "--root", str(root), "--base-image", tag,
         "--bundle", str(bundle)],
        cwd=root,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise DockyardError(f"lab: building the stand-in bundle failed (exit {proc.returncode}; output above)")
    return bundle


def stop(root: Path) -> bool:
    """End the lab's fake internet, if it runs (by the PID it recorded). True when it was running."""
    pid_file = root / ".dockyard" / INTERNET / "internet.pid"
    if not pid_file.exists() or not (root / "tests" / "standins" / "fake_internet.py").is_file():
        return False
    subprocess.run(
        [sys.executable, "-m", "tests.standins.fake_internet", "stop", str(pid_file.parent)], cwd=root, check=False
    )
    return True
