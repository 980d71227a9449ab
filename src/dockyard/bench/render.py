"""``invoke bench render``: generate and write the GitOps layout of a large synthetic platform.

Default: 100 projects x 10 services x 3 environments (dev and stage automated, prod manual with a
sync window), the whole tree written to a temporary directory with the same code ``invoke render``
uses. Options: ``projects=N services=N envs=N keep=DIR``.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from dockyard import catalogue
from dockyard.bench import benchmark
from dockyard.gitops import argocd_objects, argocd_values, render
from dockyard.gitops.settings import ArgoSettings, TrustInputs
from dockyard.problems import InvalidInput
from dockyard.spec.model import Platform
from dockyard.spec.validate import build

ENV_NAMES = ("dev", "stage", "prod", "qa", "perf", "uat")


def synthetic_spec(root: Path, projects: int, services: int, envs: int) -> dict[str, Any]:
    environments: dict[str, Any] = {}
    for i, name in enumerate(ENV_NAMES[:envs]):
        manual = i == envs - 1 and envs > 1
        environments[name] = {"sync": "manual" if manual else "auto", "namespace_prefix": f"{name}-"}
        if manual:
            environments[name]["sync_windows"] = [
                {"kind": "allow", "schedule": "0 20 * * 1-4", "duration": "2h", "applications": ["*"]}
            ]
    return {
        "dockyard_domain": "bench.example.com",
        "dockyard_airgap": False,
        "dockyard_argocd_layout": "one-to-one",
        "dockyard_environments": environments,
        "dockyard_projects": [
            {
                "name": f"team{p:03d}",
                "services": [
                    {"name": f"svc{s:02d}", "port": 8080, "ingress": s % 2 == 0, "health_path": "/healthz"}
                    for s in range(services)
                ],
            }
            for p in range(projects)
        ],
        "dockyard_tools": {
            "gitlab": {"mode": "install"},
            "harbor": {"mode": "install"},
            "jenkins": {"mode": "install"},
        },
        "dockyard_catalogue": catalogue.product(),
    }


def layouts(root: Path, spec: dict[str, Any], platform: Platform) -> list[render.EnvLayout]:
    admin = argocd_values.AdminPassword("$2b$12$" + "x" * 53, "2026-01-01T00:00:00Z")
    result = []
    for env in platform.environments:
        settings = ArgoSettings.from_spec(root, spec, platform, env)
        objects = argocd_objects.env_objects(platform, env, settings)
        values = argocd_values.chart_values(
            platform,
            env,
            settings=settings,
            dockyard_catalogue=spec["dockyard_catalogue"],
            trust=TrustInputs(),
            admin=admin,
        )
        result.append(render.EnvLayout(env, objects, values))
    return result


@benchmark("render", "GitOps layout of 100 projects x 10 services x 3 environments: time and peak memory")
def render_benchmark(root: Path, options: dict[str, str]) -> int:
    try:
        projects = int(options.get("projects", 100))
        services = int(options.get("services", 10))
        envs = int(options.get("envs", 3))
    except ValueError:
        raise InvalidInput("bench render: projects, services and envs must be integers") from None
    if not 1 <= envs <= len(ENV_NAMES):
        raise InvalidInput(f"bench render: envs must be between 1 and {len(ENV_NAMES)}")
    spec = synthetic_spec(root, projects, services, envs)
    out = Path(options["keep"]) if "keep" in options else Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    try:
        start = time.perf_counter()
        platform = build(spec)
        generated = layouts(root, spec, platform)
        built = time.perf_counter()
        report = render.write_layout(out, platform, generated)
        first = time.perf_counter()
        # Again over the result, as an operator's next render: every tag read back, nothing rewritten.
        again = render.write_layout(out, platform, layouts(root, spec, build(spec)))
        second = time.perf_counter()
        objects = sum(len(layout.objects) for layout in generated)
    finally:
        if "keep" not in options:
            shutil.rmtree(out, ignore_errors=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"render: {projects} projects x {services} services x {envs} environments")
    print(f"  {objects} Argo CD objects, {report.written} files")
    print(f"  first render: {first - start:.2f} s (objects {built - start:.2f} s, YAML files {first - built:.2f} s)")
    print(f"  render again: {second - first:.2f} s ({again.written} files changed, {again.unchanged} unchanged)")
    print(f"  peak memory: {peak_mib:.0f} MiB (max RSS of the process)")
    return 0
