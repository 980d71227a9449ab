"""Every role's Molecule scenario: create, converge, idempotence, verify, destroy on real systemd
Debian 12 containers (the image `invoke hosts up` builds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALL_SCENARIOS = sorted(p.parent.name for p in Path(__file__).parent.glob("*/molecule.yml"))
# A scenario with its own test_*.py (e.g. gitlab: stand-in package and test upstream first) runs there.
SCENARIOS = [s for s in ALL_SCENARIOS if not any((Path(__file__).parent / s).glob("test_*.py"))]

pytestmark = pytest.mark.hosts


# Roles whose scenario is not written yet, listed so every other role must have one: none now
# (traefik runs in the cluster scenarios' ingress phase, tests/molecule/shared/cluster_converge.yml).
NOT_YET: frozenset[str] = frozenset()


def test_every_role_has_a_scenario() -> None:
    roles = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("**/tasks/main.yml"))
    # A scenario may also cover small client-side roles it exercises (listed in its `covers` file).
    covered = {
        line.strip()
        for f in Path(__file__).parent.glob("*/covers")
        for line in f.read_text().splitlines()
        if line.strip()
    }
    missing = sorted(set(roles) - set(ALL_SCENARIOS) - covered - NOT_YET)
    assert not missing, f"roles without a Molecule scenario in tests/molecule/: {missing}"
    assert set(roles) >= NOT_YET and not NOT_YET & set(ALL_SCENARIOS), "NOT_YET is out of date: update it"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str, test_image: str) -> None:
    env = {
        **os.environ,
        "DOCKYARD_ROOT": str(ROOT),
        "DOCKYARD_TEST_IMAGE": test_image,
        "MOLECULE_GLOB": "tests/molecule/*/molecule.yml",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PY_COLORS": "0",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    env.pop("ANSIBLE_CONFIG", None)  # Molecule writes its own
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "molecule"), "test", "-s", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-12000:]
