"""What the invoke tasks do. Each function returns the process exit code and never raises a
traceback at the operator: problems are printed as ``file: key: what is wrong (how to fix)``."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

from dockyard import catalogue, inventory, playbook, preflight, secrets
from dockyard.problems import DockyardError, InvalidInput, SpecInvalid
from dockyard.spec.model import Platform
from dockyard.spec.validate import validate as validate_spec

P = ParamSpec("P")

BOOTSTRAP_PLAYBOOK = "bootstrap.yml"


def guarded(fn: Callable[P, int]) -> Callable[P, int]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return fn(*args, **kwargs)
        except SpecInvalid as exc:
            err(f"validate FAILED: {len(exc.problems)} problem(s)")
            for line in exc.lines():
                err(f"  {line}")
            return exc.exit_code
        except DockyardError as exc:
            for line in exc.lines():
                err(f"error: {line}")
            return exc.exit_code
        except KeyboardInterrupt:
            err("interrupted")
            return 130

    return wrapper


def out(text: str) -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def inventory_tree(root: Path, inventories: str | None) -> inventory.InventoryTree:
    path = Path(inventories) if inventories else root / "inventories"
    return inventory.InventoryTree(path if path.is_absolute() else Path.cwd() / path)


def state_dir(root: Path) -> Path:
    """Where Dockyard keeps what it generates on this machine (keys, vault password, caches)."""
    return root / ".dockyard"


def use_project_config(root: Path) -> None:
    """Make in-process Ansible code, and every ansible-playbook started from here, read the
    project's ansible.cfg and the vault password."""
    os.environ.setdefault("ANSIBLE_CONFIG", str(root / "ansible.cfg"))
    secrets.use_password_file(state_dir(root))


def load(root: Path, inventories: str | None, env: str) -> tuple[inventory.LoadedInventory, Platform]:
    use_project_config(root)
    tree = inventory_tree(root, inventories)
    if env == "local" and env not in tree.environments():
        raise InvalidInput(
            f"unknown environment 'local': {tree.root / 'local'} does not exist yet "
            f"(run `invoke hosts up`, or `invoke bootstrap --env local` which does it first)"
        )
    inv = inventory.load(tree, env)
    return inv, validate_spec(inv)


@guarded
def validate(root: Path, inventories: str | None, env: str) -> int:
    inv, platform = load(root, inventories, env)
    hosts = len(inv.hosts)
    projects = len(platform.projects_in(env))
    overrides = catalogue.overrides_in_force(inv.catalogue_overrides)
    out(
        f"validate OK: env {env}: {hosts} host(s), {projects} project(s), "
        f"{len(platform.environments)} environment(s) in the spec ({', '.join(str(s) for s in inv.sources)}); "
        f"catalogue overrides in force: {', '.join(overrides) or 'none'}"
    )
    return 0


@guarded
def run_preflight(root: Path, inventories: str | None, env: str) -> int:
    inv, platform = load(root, inventories, env)
    return _preflight(inv, platform)


def _preflight(inv: inventory.LoadedInventory, platform: Platform) -> int:
    from ansible import constants as C  # noqa: PLC0415

    report = preflight.run(inv, platform, host_key_checking=bool(C.HOST_KEY_CHECKING))
    out(report.render())
    if report.failed:
        err(report.summary())
        return 1
    out(report.summary())
    return 0


@guarded
def hosts(root: Path, action: str, count: int | None = None, purge_image: bool = False) -> int:
    from dockyard.localhosts import hosts as local  # noqa: PLC0415

    if action == "up":
        local.up(root, state_dir(root), count or local.DEFAULT_COUNT, say=out)
    elif action == "down":
        local.down(root, state_dir(root), purge_image=purge_image, say=out)
    elif action == "status":
        local.status(root, say=out)
    else:
        raise InvalidInput(f"unknown action '{action}' (use up, down or status)")
    return 0


def _is_local_lab(root: Path, inventories: str | None, env: str) -> bool:
    from dockyard.localhosts.hosts import ENV  # noqa: PLC0415

    return env == ENV and inventory_tree(root, inventories).root == inventory_tree(root, None).root


@guarded
def bootstrap(
    root: Path,
    inventories: str | None,
    env: str,
    *,
    check: bool = False,
    tags: str | None = None,
    limit: str | None = None,
    skip_preflight: bool = False,
) -> int:
    if _is_local_lab(root, inventories, env):
        from dockyard.localhosts import hosts as local  # noqa: PLC0415

        local.up(root, state_dir(root), say=out)  # idempotent: reuses running hosts
    inv, platform = load(root, inventories, env)
    out(f"validate OK: env {env}")
    if skip_preflight:
        out("preflight: skipped (--skip-preflight)")
    elif (rc := _preflight(inv, platform)) != 0:
        return rc
    vault_file = secrets.vault_path(inv.tree, env)
    if not check:
        from dockyard import secret_registry  # noqa: PLC0415

        created = secret_registry.ensure(secrets.Vault.open(inv.tree, env, state_dir(root)))
        if created:
            out(f"vault: generated {', '.join(created)} in {vault_file}")
    cmd = playbook.command(
        root,
        inv.sources,
        BOOTSTRAP_PLAYBOOK,
        check=check,
        diff=check,
        tags=tags,
        limit=limit,
        extra_vars={"dockyard_vault_file": str(vault_file.resolve())},
    )
    out(("plan" if check else "bootstrap") + ": " + " ".join(cmd))
    rc = playbook.run(cmd, root)
    if rc != 0:
        err(f"bootstrap FAILED: ansible-playbook exited {rc}")
        return rc
    if check:
        out("seed: skipped: check mode changes nothing (invoke seed --dry-run shows the seed plan)")
        return 0
    from dockyard.seed.cli import seed_after_bootstrap  # noqa: PLC0415 (seed imports this module)

    return seed_after_bootstrap(root, inv, platform)


@guarded
def plan(root: Path, inventories: str | None, env: str, *, tags: str | None = None, limit: str | None = None) -> int:
    import subprocess  # noqa: PLC0415

    inv, _platform = load(root, inventories, env)
    cmd = playbook.command(root, inv.sources, BOOTSTRAP_PLAYBOOK, check=True, diff=True, tags=tags, limit=limit)
    proc = subprocess.run(
        cmd,
        cwd=root,
        env=playbook.ansible_env(root, {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}),
        capture_output=True,
        text=True,
        check=False,
    )
    result = playbook.parse_json_callback(proc.stdout)
    out(f"plan for env {env} (check mode: nothing was changed)")
    out(result.render())
    if proc.returncode != 0:
        err(f"plan FAILED: ansible-playbook exited {proc.returncode}")
        if proc.stderr.strip():
            err(proc.stderr.strip().splitlines()[-1])
        return proc.returncode
    return 0
