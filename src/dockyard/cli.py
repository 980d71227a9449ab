"""What the invoke tasks do. Each function returns the process exit code and never raises a
traceback at the operator: problems are printed as ``file: key: what is wrong (how to fix)``."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

from dockyard import catalogue, inventory, phases, playbook, preflight, secrets, summary
from dockyard.problems import EXIT_FAILED, DockyardError, InvalidInput, SpecInvalid, one_line
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
                err(f"error: {one_line(line)}")
            return exc.exit_code
        except KeyboardInterrupt:
            err("interrupted")
            return 130
        except OSError as exc:  # a file the command had to write or read: one line, no traceback
            where = exc.filename or "(file)"
            err(f"error: {where}: {exc.strerror or exc} (check the path and its permissions)")
            return EXIT_FAILED

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


def require_writable_dir(path: Path, option: str) -> None:
    """Refuse, before anything is written, an output folder that cannot be one: a file, a folder
    under a file, or a place this user cannot write to."""
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{option} {path}: is a file, not a folder (give a folder to write into)")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidInput(f"{option} {path}: {existing} is a file, so the folder cannot be made (give another path)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInput(f"{option} {path}: {existing} is not writable by this user (give a folder you can write)")
    try:  # root passes os.access everywhere; a read-only file system still refuses
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise InvalidInput(
            f"{option} {path}: cannot write in {existing}: {exc.strerror} (give another folder)"
        ) from None


def use_project_config(root: Path, tree: inventory.InventoryTree | None = None, *, writes: bool = True) -> None:
    """Make in-process Ansible code, and every ansible-playbook started from here, read the
    project's ansible.cfg and the vault password (never a new one while the tree has a vault;
    none made at all by a command that only reads: ``writes`` False)."""
    os.environ.setdefault("ANSIBLE_CONFIG", str(root / "ansible.cfg"))
    secrets.use_password_file(state_dir(root), secrets.vaults_in(tree) if tree else (), create=writes)


def load(
    root: Path, inventories: str | None, env: str, *, writes: bool = True
) -> tuple[inventory.LoadedInventory, Platform]:
    """Load and validate an environment. ``writes``: the command may write the vault later."""
    tree = inventory_tree(root, inventories)
    use_project_config(root, tree, writes=writes)
    if env == "local" and env not in tree.environments():
        raise InvalidInput(
            f"unknown environment 'local': {tree.root / 'local'} does not exist yet "
            f"(run `invoke hosts up`, or `invoke bootstrap --env local` which does it first)"
        )
    inv = inventory.load(tree, env)
    return inv, validate_spec(inv, root)


@guarded
def validate(root: Path, inventories: str | None, env: str) -> int:
    inv, platform = load(root, inventories, env, writes=False)
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
    inv, platform = load(root, inventories, env, writes=False)
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
def hosts(root: Path, action: str, count: str | int | None = None, purge_image: bool = False) -> int:
    from dockyard.localhosts import hosts as local  # noqa: PLC0415

    if action not in ("up", "down", "status"):
        raise InvalidInput(f"unknown action '{action}' (use up, down or status)")
    number = _count(count, local.MAX_COUNT)
    if number is not None and action != "up":
        raise InvalidInput(f"--count: only for `hosts up` (not `hosts {action}`)")
    if action == "up":
        local.up(root, state_dir(root), number or local.DEFAULT_COUNT, say=out)
    elif action == "down":
        local.down(root, state_dir(root), purge_image=purge_image, say=out)
    elif action == "status":
        local.status(root, say=out)
    else:
        raise InvalidInput(f"unknown action '{action}' (use up, down or status)")
    return 0


def _count(value: str | int | None, most: int) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise InvalidInput(f"--count {value}: not a number of hosts (give 1 to {most})")
    return int(text)


def options(pairs: list[str], flag: str = "--option") -> dict[str, str]:
    """NAME=VALUE pairs from a repeatable option, one clear error for a malformed one."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"{flag} {pair!r}: expected NAME=VALUE (for example {flag} hosts=3)")
        result[name.strip()] = value
    return result


@guarded
def bench(run: Callable[[str, Path, dict[str, str]], int], what: str, root: Path, pairs: list[str]) -> int:
    return run(what, root, options(pairs))


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
    allow_partial: bool = False,
    bundle: str | None = None,
) -> int:
    wanted_tags = phases.check_tags(root, tags)  # before anything is written (hosts up writes)
    if bundle and not Path(bundle).is_dir():
        raise InvalidInput(f"--bundle {bundle}: not a folder (give the folder `invoke bundle.build --out` wrote)")
    if _is_local_lab(root, inventories, env):
        from dockyard.localhosts import feed  # noqa: PLC0415
        from dockyard.localhosts import hosts as local  # noqa: PLC0415

        local.up(root, state_dir(root), say=out)  # idempotent: reuses running hosts
        if not check:  # the lab's stand-in artefacts, built and bundled as on a connected machine
            bundle = bundle or str(feed.prepare(root, say=out))
    inv, platform = load(root, inventories, env)
    phases.check_limit(limit, inv.hosts, inv.groups)
    out(f"validate OK: env {env}")
    if skip_preflight:
        out("preflight: skipped (--skip-preflight)")
    elif (rc := _preflight(inv, platform)) != 0:
        return rc
    known = phases.phases(root)
    result = summary.Summary(env, check=check)
    result.not_selected = [p.name for p in known if wanted_tags and not p.tags & set(wanted_tags)]
    skip_phases = _skipped_phases(inv, [p.name for p in known])
    for name, reason in skip_phases.items():
        result.skip(name, "phase", f"dockyard_skip_phases: {reason}")
    vault_file = secrets.vault_path(inv.tree, env)
    if not check:
        from dockyard import secret_registry  # noqa: PLC0415

        created = secret_registry.ensure(secrets.Vault.open(inv.tree, env, state_dir(root)))
        if created:
            out(f"vault: generated {', '.join(created)} in {vault_file}")
    names = [p.name for p in known]
    selected = [p.name for p in known if not wanted_tags or p.tags & set(wanted_tags)]
    after_seed: dict[str, int] = {}  # phases that ask to run again after seed -> objects waiting on it
    for stage in _stages(names, selected, tags, bool(bundle) and not check):
        if stage == LOAD_STAGE:
            from dockyard.mirror import load as mirror_load  # noqa: PLC0415

            out(f"bundle: loading {bundle} into the mirror before the phases that install from it")
            if (rc := mirror_load.load(root, str(bundle), env, inventories=inventories)) != 0:
                err(f"bootstrap FAILED: bundle load exited {rc}")
                return rc
            continue
        cmd = _bootstrap_command(root, inv, skip_phases, check=check, tags=stage, limit=limit, vault_file=vault_file)
        out(("plan" if check else "bootstrap") + ": " + " ".join(cmd))
        rc, asked = _run_playbook(cmd, root, result)
        after_seed.update(asked)
        if rc != 0:
            err(f"bootstrap FAILED: ansible-playbook exited {rc}")
            return rc
    for item in summary.unplanned_parts(platform, [p.name for p in known], root) if not wanted_tags else []:
        result.skip(item.phase, item.part, item.reason)  # a --tags run asked for less on purpose
    seed_rc, seeded = 0, False
    if check:
        out("seed: skipped: check mode changes nothing (invoke seed --dry-run shows the seed plan)")
    elif "seed" in skip_phases:
        out(f"seed: SKIPPED: dockyard_skip_phases: {skip_phases['seed']}")
    elif not wanted_tags or "seed" in wanted_tags:
        from dockyard.seed.cli import seed_after_bootstrap  # noqa: PLC0415 (seed imports this module)

        started = time.monotonic()
        seed_rc = seed_after_bootstrap(root, inv, platform, summary=result)
        result.phases.append(summary.PhaseRun("seed", time.monotonic() - started, None))
        seeded = seed_rc == 0
    else:
        result.not_selected.append("seed")
    if seeded and after_seed:  # a site's first bootstrap: seed has now stored what those phases waited on
        again = {
            phase: _bootstrap_command(
                root, inv, skip_phases, check=False, tags=phase, limit=limit, vault_file=vault_file
            )
            for phase in after_seed
        }
        if (rc := _apply_after_seed(root, after_seed, again, result)) != 0:
            return rc
    _describe_platform(root, inv, platform, result)
    for line in result.lines(allow_partial):
        out(line)
    return seed_rc or result.exit_code(allow_partial)


def _run_playbook(cmd: list[str], root: Path, result: summary.Summary) -> tuple[int, dict[str, int]]:
    """One ansible-playbook run of a bootstrap: its phase times and skipped parts go to the summary;
    returns its exit code and the phases that ask to run again after seed."""
    with tempfile.TemporaryDirectory(prefix="dockyard-phases-") as work:
        path = Path(work) / "phases.json"
        rc = playbook.run(cmd, root, {summary.REPORT_ENV: str(path)})
        report = summary.read_phase_report(path)
    result.add_phases(report.runs)
    for item in report.skipped:
        result.skip(item.phase, item.part, item.reason)
    return rc, report.after_seed


def _apply_after_seed(
    root: Path, asked: dict[str, int], commands: dict[str, list[str]], result: summary.Summary
) -> int:
    """Run each phase that asked for it once more (``--tags <phase>``), now that seed has stored the
    credentials its objects waited on: then the next bootstrap has nothing left to change."""
    for phase, objects in asked.items():
        out(f"{phase}: applying again after seed: {objects} object(s) waited on seed's credentials")
        out("bootstrap: " + " ".join(commands[phase]))
        rc, still = _run_playbook(commands[phase], root, result)
        if rc != 0:
            err(f"bootstrap FAILED: ansible-playbook exited {rc} ({phase} applied again after seed)")
            return rc
        if phase in still:
            out(f"{phase}: {still[phase]} object(s) still wait on credentials seed did not store (see seed above)")
    return 0


def _bootstrap_command(
    root: Path,
    inv: inventory.LoadedInventory,
    skip_phases: dict[str, str],
    *,
    check: bool,
    tags: str | None,
    limit: str | None,
    vault_file: Path | None = None,
) -> list[str]:
    """``ansible-playbook playbooks/bootstrap.yml`` for bootstrap and plan: check mode shows diffs;
    the phases the inventory leaves out are skipped by tag."""
    return playbook.command(
        root,
        inv.sources,
        BOOTSTRAP_PLAYBOOK,
        check=check,
        diff=check,
        tags=tags,
        skip_tags=",".join(skip_phases) or None,
        limit=limit,
        extra_vars={"dockyard_vault_file": str(vault_file.resolve())} if vault_file else None,
    )


LOAD_STAGE = "<bundle load>"


def _stages(names: list[str], selected: list[str], tags: str | None, load: bool) -> list[str | None]:
    """The playbook runs of a bootstrap, as ``--tags`` values (None: as the operator asked). With a
    bundle, it is loaded into the mirror right after the mirror phase, before any phase that installs
    from it (or first, when the run leaves the mirror phase out)."""
    if not load:
        return [tags]
    if "mirror" not in selected:
        return [LOAD_STAGE, tags]
    at = names.index("mirror") + 1
    before = [n for n in selected if n in names[:at]]
    after = [n for n in selected if n in names[at:]]
    return [",".join(before), LOAD_STAGE, *([",".join(after)] if after else [])]


def _skipped_phases(inv: inventory.LoadedInventory, known: list[str]) -> dict[str, str]:
    """``dockyard_skip_phases`` (phase -> why), in phase order: left out of the run, and counted as not done."""
    wanted = inv.spec.get("dockyard_skip_phases") or {}
    return {name: str(wanted[name]) for name in [*known, "seed"] if name in wanted}


def _describe_platform(root: Path, inv: inventory.LoadedInventory, platform: Platform, result: summary.Summary) -> None:
    result.endpoints = summary.endpoints(platform, inv.env, bool(inv.groups.get("mirror")))
    result.versions = summary.versions(inv.spec.get("dockyard_catalogue"))
    vault = secrets.Vault.open(inv.tree, inv.env, state_dir(root))
    result.credentials = summary.credentials(vault.keys(), vault.path)


@guarded
def plan(root: Path, inventories: str | None, env: str, *, tags: str | None = None, limit: str | None = None) -> int:
    import subprocess  # noqa: PLC0415

    phases.check_tags(root, tags)
    inv, _platform = load(root, inventories, env, writes=False)
    phases.check_limit(limit, inv.hosts, inv.groups)
    skip_phases = _skipped_phases(inv, [p.name for p in phases.phases(root)])
    cmd = _bootstrap_command(root, inv, skip_phases, check=True, tags=tags, limit=limit)
    for name, reason in skip_phases.items():
        out(f"plan: phase {name} left out: dockyard_skip_phases: {reason}")
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
