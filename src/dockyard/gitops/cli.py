"""``invoke render`` and ``invoke promote``: what the tasks do, one clear line per problem."""

from __future__ import annotations

from pathlib import Path

from dockyard import cli, host_configs, secrets
from dockyard.gitops import gitlab_mr, settings
from dockyard.gitops import promote as promotion
from dockyard.gitops import render as rendering
from dockyard.gitops.build import env_layout
from dockyard.problems import InvalidInput
from dockyard.seed import names as seed_names
from dockyard.service_names import addresses_without_dns
from dockyard.spec.model import Platform


@cli.guarded
def render(root: Path, inventories: str | None, env: str, out: str, *, configs: bool = False) -> int:
    tree = cli.inventory_tree(root, inventories)
    envs = tree.environments() if env == "all" else [env]
    if not envs:
        raise InvalidInput(f"{tree.root}: no environments (each is a folder holding hosts.yml)")
    out_dir = Path(out) if Path(out).is_absolute() else Path.cwd() / out
    cli.require_writable_dir(out_dir, "--out")  # checked first: nothing is written when it cannot be
    if configs:
        return _render_configs(root, inventories, envs, out_dir)
    layouts: list[rendering.EnvLayout] = []
    platform: Platform | None = None
    stores: dict[Path, secrets.Vault] = {}  # one per vault file: environments may share one
    for name in envs:
        inv, platform = cli.load(root, inventories, name)
        path = secrets.vault_path(tree, name)
        if path not in stores:
            stores[path] = secrets.Vault.open(tree, name, cli.state_dir(root))
            stores[path].defer_writes()  # new secrets are stored only once the output is written
        store = stores[path]
        addresses = addresses_without_dns(inv, platform, name)
        layout, _settings = env_layout(root, inv.spec, platform, name, store=store, service_addresses=addresses)
        layouts.append(layout)
    assert platform is not None
    rendering.check_shared_argocd(platform, layouts)
    report = rendering.write_layout(out_dir, platform, layouts)
    for store in stores.values():
        store.flush()
    for layout in layouts:
        kinds: dict[str, int] = {}
        for obj in layout.objects:
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        values = f", {rendering.VALUES_FILE}" if layout.values is not None else ""
        cli.out(f"render: env {layout.env}: {counts}{values}")
        for note in layout.notes:
            cli.err(f"render: env {layout.env}: note: {note}")
    cli.out(
        f"render OK: {out_dir}: {report.written} file(s) written, {report.unchanged} unchanged, "
        f"{report.removed} removed ({len(platform.projects)} deploy repo(s), {len(layouts)} environment(s))"
    )
    return 0


def _render_configs(root: Path, inventories: str | None, envs: list[str], out_dir: Path) -> int:
    """Every host's configuration files, as the roles would write them (dockyard.host_configs)."""
    loaded = [cli.load(root, inventories, name)[0] for name in envs]  # every env validates before anything is written
    total = 0
    for inv in loaded:
        files = host_configs.render(root, inv, out_dir)
        hosts = {p.relative_to(host_configs.hosts_dir(out_dir, inv.env)).parts[0] for p in files}
        cli.out(f"render --configs: env {inv.env}: {len(files)} file(s) for {len(hosts)} host(s)")
        total += len(files)
    cli.out(f"render --configs OK: {out_dir}: {total} host file(s) in <env>/hosts/<host>/<path>")
    return 0


@cli.guarded
def promote(
    root: Path,
    inventories: str | None,
    *,
    project: str,
    service: str,
    from_env: str,
    to_env: str,
    repo: str | None = None,
) -> int:
    """Load the spec through any environment's inventory (the spec is the same), then promote."""
    tree = cli.inventory_tree(root, inventories)
    envs = tree.environments()
    if not envs:
        raise InvalidInput(f"{tree.root}: no environments (each is a folder holding hosts.yml)")
    inv, platform = cli.load(root, inventories, from_env if from_env in envs else envs[0])
    gitlab = platform.tools["gitlab"]
    ca_file = Path(gitlab.ca_file) if gitlab.ca_file else settings.state_dir(root, inv.spec) / "pki" / "ca.crt"
    key = seed_names.promote_token_key(project)
    token = secrets.Vault.open(inv.tree, inv.env, settings.state_dir(root, inv.spec)).get(key)
    opener = gitlab_mr.promote_opener(token, key, ca_file if ca_file.is_file() else None)
    result = promotion.promote(platform, project, service, from_env, to_env, repo_url=repo, open_merge_request=opener)
    cli.out(result.summary())
    return 0
