"""``invoke bench seed``: seed 50 projects x 10 services x 3 environments into test doubles of
GitLab, Harbor and Jenkins, then again with no change; time and API calls of both runs.

The doubles live in ``tests/`` and are never imported by the product: this benchmark runs the
lab in a separate process (``python -m tests.fakes.seed_bench``) from a source checkout.
Options: ``-o projects=N -o services=N``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dockyard.bench import benchmark
from dockyard.problems import InvalidInput

LAB = "tests.fakes.seed_bench"


@benchmark("seed", "seed 50 projects x 10 services x 3 envs into the API test doubles; first run and a rerun")
def seed_benchmark(root: Path, options: dict[str, str]) -> int:
    if not (root / "tests" / "fakes" / "seed_bench.py").is_file():
        raise InvalidInput(f"{root}: the seed benchmark needs a source checkout with tests/fakes (the API doubles)")
    args = []
    for name in ("projects", "services"):
        if name in options:
            if not options[name].isdigit() or int(options[name]) < 1:
                raise InvalidInput(f"-o {name}={options[name]}: give a positive number")
            args += [f"--{name}", options[name]]
    unknown = set(options) - {"projects", "services"}
    if unknown:
        raise InvalidInput(f"-o {sorted(unknown)[0]}: unknown option (known: projects, services)")
    return subprocess.run([sys.executable, "-m", LAB, *args], cwd=root, check=False).returncode
