"""Dockyard's command line: `invoke --list`. Thin wrappers; the logic lives in src/dockyard."""

from __future__ import annotations

from pathlib import Path

from invoke import Collection, Exit, Task, task

from dockyard import cli

ROOT = Path(__file__).resolve().parent

ENV_HELP = "environment: an inventory folder next to inventories/platform (dev, stage, prod, ...)"
INV_HELP = "inventory tree to use instead of ./inventories"


def _exit(code: int) -> None:
    if code:
        raise Exit(code=code)


@task(help={"env": ENV_HELP, "inventories": INV_HELP})
def validate(c, env, inventories=None):
    """Validate the platform spec and inventory of an environment; exit 2 listing every problem."""
    _exit(cli.validate(ROOT, inventories, env))


@task(help={"env": ENV_HELP, "inventories": INV_HELP})
def preflight(c, env, inventories=None):
    """Check every host over SSH in parallel: reachability, sudo, OS, CPU/RAM/disk, clock, swap, DNS."""
    _exit(cli.run_preflight(ROOT, inventories, env))


@task(
    help={
        "env": ENV_HELP,
        "inventories": INV_HELP,
        "check": "dry run: Ansible check + diff mode, nothing changes",
        "tags": "only run these phases/tags (comma separated)",
        "limit": "only these hosts or groups",
        "skip-preflight": "do not run preflight first",
        "allow-partial": "exit 0 even when parts the spec asks for were not done (the summary lists them)",
        "bundle": "air-gapped: an air-gap bundle folder, verified and loaded into the mirror after the mirror phase",
    }
)
def bootstrap(
    c, env, inventories=None, check=False, tags=None, limit=None, skip_preflight=False, allow_partial=False, bundle=None
):
    """Validate, preflight, run playbooks/bootstrap.yml phase by phase, seed, then print a summary."""
    _exit(
        cli.bootstrap(
            ROOT,
            inventories,
            env,
            check=check,
            tags=tags,
            limit=limit,
            skip_preflight=skip_preflight,
            allow_partial=allow_partial,
            bundle=bundle,
        )
    )


@task(
    positional=["action"],
    help={
        "action": "up, down or status",
        "count": "how many hosts (up; default 3: platform tier, control plane, worker)",
        "purge-image": "down: also remove the cached base image",
    },
)
def hosts(c, action, count=None, purge_image=False):
    """Local test hosts (systemd Debian containers) and inventories/local: up, down, status."""
    _exit(cli.hosts(ROOT, action, count, purge_image))


@task(help={"env": ENV_HELP, "inventories": INV_HELP, "tags": "only these phases/tags", "limit": "only these hosts"})
def plan(c, env, inventories=None, tags=None, limit=None):
    """Show what bootstrap would change (check mode), summarised per host and task."""
    _exit(cli.plan(ROOT, inventories, env, tags=tags, limit=limit))


@task(
    help={
        "env": ENV_HELP,
        "inventories": INV_HELP,
        "component": "what to back up: gitlab or jenkins (harbor adds its own)",
    }
)
def backup(c, env, component, inventories=None):
    """Back a component up off its host into .dockyard/backups/<env>/<component>/<time>; print the path."""
    from dockyard import backup as backups  # noqa: PLC0415

    _exit(backups.backup(ROOT, inventories, env, component))


@task(
    positional=["what"],
    help={"what": "which benchmark (invoke bench list)", "option": "NAME=VALUE for the benchmark, repeatable"},
    iterable=["option"],
)
def bench(c, what, option=None):
    """Run a benchmark and print what it measured: `invoke bench list` shows them."""
    from dockyard import bench as benchmarks  # noqa: PLC0415 (loads every benchmark module)

    if what == "list":
        for name, text in benchmarks.available().items():
            print(f"{name:12} {text}")
        return
    _exit(cli.bench(benchmarks.run, what, ROOT, option or []))


TIERS = {
    "static": ["tests/static"],
    "unit": ["tests/unit"],
    "molecule": ["tests/molecule"],
    "integration": ["tests/integration"],
}
# How each tier's pytest run uses the two cores. Static and unit tests share nothing: a file per
# worker. Molecule scenarios share only the Docker engine and the test image (both made once, under a
# lock; tests/conftest.py): a scenario per worker, a module of its own (gitlab, harbor) on one worker,
# slowest first (tests/molecule/conftest.py). The integration tier runs serially: the lab and several
# tests use this checkout's .dockyard/ and the fake internet.
WORKERS = {
    "static": "-n 2 --dist loadfile",
    "unit": "-n 2 --dist loadfile",
    "molecule": "-n 2 --dist loadscope --no-loadscope-reorder",
    "integration": "",
}
NO_TESTS_COLLECTED = 5  # pytest's exit code


@task(
    help={
        "tier": "static, unit, molecule, integration or all (default)",
        "pytest-args": "extra arguments for pytest, e.g. '-k preflight -x'",
    }
)
def test(c, tier="all", pytest_args=""):
    """Run the test suite: static checks, unit tests, Molecule scenarios, integration (in that order)."""
    if tier != "all" and tier not in TIERS:
        raise Exit(f"unknown tier '{tier}': use one of {', '.join([*TIERS, 'all'])}", code=2)
    chosen = [name for name in TIERS if tier in ("all", name)]
    runs: list[tuple[list[str], str]] = []
    for name in chosen:  # consecutive tiers with the same workers share a pytest run
        if runs and runs[-1][1] == WORKERS[name]:
            runs[-1][0].append(name)
        else:
            runs.append(([name], WORKERS[name]))
    failed = False
    for names, workers in runs:
        paths = " ".join(p for name in names for p in TIERS[name])
        # --durations: the slowest tests in every run, to keep the suite inside its time budget
        cmd = f"{ROOT / '.venv/bin/pytest'} {paths} {workers} --durations=25 {pytest_args}"
        rc = c.run(" ".join(cmd.split()), pty=False, warn=True).return_code
        failed |= rc != 0 and not (rc == NO_TESTS_COLLECTED and pytest_args)  # -k may select none in a run
    if failed:
        raise Exit("tests FAILED (see the pytest output above)", code=1)


@task(
    help={
        "env": ENV_HELP + ", or 'all'",
        "inventories": INV_HELP,
        "out": "directory to write to (repos/<project>-deploy/, <env>/argocd/, <env>/argocd-values.yaml)",
        "configs": "instead: every host's config files as the roles would write them (<env>/hosts/<host>/<path>)",
    }
)
def render(c, env, out="rendered", inventories=None, configs=False):
    """Write the GitOps layout (deploy repos, Argo CD objects, values), or with --configs every host's config files."""
    from dockyard.gitops import cli as gitops  # noqa: PLC0415

    _exit(gitops.render(ROOT, inventories, env, out, configs=configs))


@task(
    help={
        "project": "project name in the spec",
        "service": "service of that project",
        "from": "environment whose image tag is promoted",
        "to": "environment that gets it (manual-sync: as a branch and merge request)",
        "repo": "git URL or path of the deploy repository (default: the platform's GitLab, over SSH)",
        "inventories": INV_HELP,
    }
)
def promote(c, project, service, from_, to, repo=None, inventories=None):
    """Copy a service's image tag from one environment to the next, as a commit in its deploy repository."""
    from dockyard.gitops import cli as gitops  # noqa: PLC0415

    _exit(gitops.promote(ROOT, inventories, project=project, service=service, from_env=from_, to_env=to, repo=repo))


@task(
    help={
        "env": ENV_HELP,
        "inventories": INV_HELP,
        "dry-run": "show the plan and the credential wiring; change nothing",
        "prune": "also delete objects Dockyard created that the spec no longer has",
        "rotate": "give every Harbor robot a new secret and update its consumers",
        "deep": "read every object again instead of trusting the recorded digests",
        "json": "print one JSON document: changes, summary, skipped, failures",
    }
)
def seed(c, env, inventories=None, dry_run=False, prune=False, rotate=False, deep=False, json=False):
    """Seed GitLab, Harbor and Jenkins from the platform spec: plan, apply, report every object."""
    from dockyard.seed.cli import seed_command  # noqa: PLC0415

    _exit(seed_command(ROOT, inventories, env, dry_run=dry_run, prune=prune, rotate=rotate, deep=deep, as_json=json))


# `invoke bundle.keygen`, `invoke bundle.build --out DIR`, `invoke bundle.verify DIR`: invoke's own
# subcommand form (a namespace), so verify can take the bundle directory as a positional argument.
BUNDLE_HELP = {
    "out": "the bundle directory to write (resumable: a rerun fetches only what is missing)",
    "env": "an environment, or 'all' (default)",
    "only": "only these components (comma separated)",
    "since": "a delta against this base bundle's manifest.yaml (only new or changed artefacts)",
    "split": "also cut the bundle into parts of this size (e.g. 4G), each with its own sha256",
    "pin-unknown": "fetch artefacts without a published sha256/digest and write trust-on-first-use pins to FILE",
    "key": "the Ed25519 signing key (default .dockyard/bundle-signing.key)",
    "workers": "parallel downloads (default 4)",
    "inventories": INV_HELP,
}


@task(name="keygen", help={"key": BUNDLE_HELP["key"], "force": "replace an existing key"})
def bundle_keygen(c, key=None, force=False):
    """Make the bundle signing key (Ed25519, 0600) and print the public key for the inventory."""
    from dockyard.bundle import cli as bundles  # noqa: PLC0415

    _exit(bundles.keygen(ROOT, key, force))


@task(name="build", help=BUNDLE_HELP)
def bundle_build(
    c, out=None, env="all", only=None, since=None, split=None, pin_unknown=None, key=None, workers=4, inventories=None
):
    """Fetch every artefact an environment needs once, verify each sha256, write and sign the bundle."""
    from dockyard.bundle import cli as bundles  # noqa: PLC0415

    _exit(
        bundles.build(
            ROOT, inventories=inventories, out=out, env=env, only=only, since=since, split_size=split,
            pin_unknown=pin_unknown, key=key, workers=int(workers),
        )
    )  # fmt: skip


@task(
    name="verify",
    positional=["path"],
    help={
        "path": "the bundle directory",
        "env": "environment whose inventory holds dockyard_bundle_public_key (default: the first)",
        "public-key": "the builder's public key file instead of the inventory's dockyard_bundle_public_key",
        "workers": "hashing threads",
        "inventories": INV_HELP,
    },
)
def bundle_verify(c, path, env=None, public_key=None, workers=None, inventories=None):
    """Check a bundle: the manifest's signature, then every file re-hashed (missing, extra, altered)."""
    from dockyard.bundle import cli as bundles  # noqa: PLC0415

    _exit(
        bundles.verify(
            ROOT, path, inventories=inventories, env=env, public_key=public_key,
            workers=int(workers) if workers else None,
        )
    )  # fmt: skip


@task(
    name="load",
    positional=["path"],
    help={
        "path": "the bundle directory (verified first; nothing is sent from a bundle that fails)",
        "env": ENV_HELP + " (its inventory has the mirror host and dockyard_bundle_public_key)",
        "public-key": "the builder's public key file instead of the inventory's dockyard_bundle_public_key",
        "inventories": INV_HELP,
    },
)
def bundle_load(c, path, env, public_key=None, inventories=None):
    """Verify a bundle, then load it into the mirror (files, vendor packages, images); skips what it holds."""
    from dockyard.mirror import load as loader  # noqa: PLC0415

    _exit(loader.load(ROOT, path, env, inventories=inventories, public_key=public_key))


def __getattr__(name: str) -> Collection:
    """invoke's root namespace ``ns``, made only when invoke asks for it, so every task of this file
    (wherever it is defined) is in it: the top-level tasks, and the bundle tasks as ``bundle.*``."""
    if name != "ns":
        raise AttributeError(name)
    bundle_tasks = (bundle_keygen, bundle_build, bundle_verify, bundle_load)
    root = Collection()
    for obj in list(globals().values()):
        if isinstance(obj, Task) and all(obj is not t for t in bundle_tasks):
            root.add_task(obj)
    root.add_collection(Collection("bundle", *bundle_tasks))
    return root
