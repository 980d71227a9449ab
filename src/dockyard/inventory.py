"""Inventory trees and environments, loaded through Ansible's own inventory and variable code.

An inventory tree (``./inventories`` by default) holds:

* ``platform/hosts.yml``: the shared tier (groups ``gitlab``, ``harbor``, ``jenkins``, ``mirror``),
  with the platform spec and the version catalogue in ``platform/group_vars/all/``;
* ``<env>/hosts.yml``: one cluster per environment (``kube_control_plane``, ``kube_node``), with
  that environment's overrides in ``<env>/group_vars/``.

``--env dev`` means the sources ``platform/hosts.yml`` and ``dev/hosts.yml`` together, in that
order, exactly as ``ansible-playbook -i inventories/platform -i inventories/dev`` would load them.
An environment whose ``hosts.yml`` carries platform-tier groups of its own (a self-contained lab
such as ``local``) is loaded on its own; its ``group_vars/all`` must then hold the spec, usually
as links to the platform's files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dockyard import catalogue, inventory_files
from dockyard.problems import InvalidInput, Problem, SpecInvalid

PLATFORM = "platform"
HOSTS_FILE = "hosts.yml"
PLATFORM_GROUPS = ("gitlab", "harbor", "jenkins", "mirror")
CLUSTER_GROUPS = ("kube_control_plane", "kube_node")
RESERVED_ENV_NAMES = frozenset({PLATFORM, "all", "ungrouped", "localhost"})


@dataclass(frozen=True)
class InventoryTree:
    root: Path

    def environments(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and p.name != PLATFORM and (p / HOSTS_FILE).is_file()
        )

    def env_dir(self, env: str) -> Path:
        return self.root / env

    def require_env(self, env: str) -> None:
        if not self.root.is_dir():
            raise InvalidInput(
                f"{self.root}: inventory tree not found (pass --inventories DIR pointing at a folder "
                f"with platform/ and one folder per environment)"
            )
        envs = self.environments()
        if env not in envs:
            available = ", ".join(envs) if envs else "none"
            raise InvalidInput(
                f"unknown environment '{env}': available environments in {self.root}: {available} "
                f"(each is a folder holding {HOSTS_FILE})"
            )

    def is_standalone(self, env: str) -> bool:
        """True when the environment's hosts.yml carries platform-tier groups of its own."""
        hosts_file = self.env_dir(env) / HOSTS_FILE
        data = _read_yaml(hosts_file)
        defined = set(_group_names(data))
        return any(g in defined for g in PLATFORM_GROUPS)

    def sources(self, env: str) -> list[Path]:
        self.require_env(env)
        env_hosts = self.env_dir(env) / HOSTS_FILE
        if self.is_standalone(env):
            return [env_hosts]
        platform_hosts = self.root / PLATFORM / HOSTS_FILE
        if not platform_hosts.is_file():
            raise InvalidInput(
                f"{platform_hosts}: not found (the platform tier and spec live there; "
                f"copy it from the samples in the repository's inventories/platform)"
            )
        return [platform_hosts, env_hosts]


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        problems = inventory_files.check_file(path, None, str(path))  # the same words as every other file
        if problems:
            raise InvalidInput(str(problems[0])) from None
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", exc)
        raise InvalidInput(f"{where}: (file): not valid YAML: {problem} (fix the syntax)") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: (file): cannot read: {exc.strerror}") from None


def _group_names(node: Any) -> Iterator[str]:
    """Names of groups that hold at least one host in a YAML inventory document."""
    if not isinstance(node, Mapping):
        return
    for name, body in node.items():
        if not isinstance(body, Mapping):
            continue
        if body.get("hosts"):
            yield str(name)
        yield from _group_names(body.get("children") or {})


@dataclass
class Host:
    """One inventory host with Ansible's merged variables for it (templated on access)."""

    name: str
    groups: frozenset[str]
    _vars: Mapping[str, Any] = field(repr=False)
    _templar: Any = field(repr=False)

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self._vars:
            return default
        return _plain(self._templar.template(self._vars[key]))

    @property
    def address(self) -> str:
        return str(self.get("ansible_host") or self.name)

    def origin(self, key: str) -> str | None:
        """The file (and line) that set this host variable, when Ansible recorded it."""
        return _origin_tag(self._vars[key]) if key in self._vars else None


@dataclass
class LoadedInventory:
    env: str
    tree: InventoryTree
    sources: list[Path]
    hosts: dict[str, Host]
    groups: dict[str, list[str]]
    spec: dict[str, Any]  # dockyard_catalogue here is the product's catalogue with the overrides merged
    _raw_spec: Mapping[str, Any] = field(repr=False)
    catalogue_overrides: dict[str, Any] = field(default_factory=dict)

    def hosts_in(self, group: str) -> list[Host]:
        return [self.hosts[h] for h in self.groups.get(group, [])]

    def origin(self, path: list[str | int]) -> str:
        """The file (and line, when Ansible recorded it) that defined the value at ``path``."""
        if path[:1] == ["dockyard_catalogue"] and not _holds(self.catalogue_overrides, path[1:]):
            return str(_relative(catalogue.PRODUCT_FILE))  # a product pin, not an inventory override
        return origin_of(self._raw_spec, path, default=str(self.sources[-1]))


def _holds(node: Any, path: list[str | int]) -> bool:
    """True when ``path`` (or its first part, at least) is set in ``node``."""
    for depth, part in enumerate(path):
        if not isinstance(node, Mapping) or part not in node:
            return depth > 1  # inside an overridden artefact: the override file is the best origin
        node = node[part]
    return True


def origin_of(raw: Mapping[str, Any], path: list[str | int], default: str) -> str:
    best = default
    node: Any = raw
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        found = _origin_tag(node)
        if found:
            best = found
    return best


def _origin_tag(value: Any) -> str | None:
    """Where a value was loaded from. Uses ansible-core's data tags (2.19+) when available."""
    try:
        from ansible._internal._datatag._tags import Origin  # noqa: PLC0415  (private, best effort)
    except ImportError:  # pragma: no cover - older or newer ansible-core: fall back to the file
        return None
    tag = Origin.get_tag(value)
    if tag is None or not tag.path:
        return None
    path = _relative(Path(tag.path))
    return f"{path}:{tag.line_num}" if tag.line_num else str(path)


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _plain(value: Any) -> Any:
    """Strip Ansible's tagged container types so values compare and serialise like plain YAML."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def load(tree: InventoryTree, env: str) -> LoadedInventory:
    """Load an environment the way ansible-playbook does: inventory plugins, group_vars, templating."""
    sources = tree.sources(env)
    file_problems = inventory_files.check(sources)
    if file_problems:
        raise SpecInvalid(file_problems)
    # Imported here: ansible reads its configuration (ANSIBLE_CONFIG) at import time.
    from ansible.errors import AnsibleError  # noqa: PLC0415
    from ansible.inventory.manager import InventoryManager  # noqa: PLC0415
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415
    from ansible.template import Templar  # noqa: PLC0415
    from ansible.vars.manager import VariableManager  # noqa: PLC0415
    from ansible.vars.plugins import get_vars_from_inventory_sources  # noqa: PLC0415

    _init_plugin_loader()
    loader = DataLoader()
    _setup_vault(loader)
    str_sources = [str(s) for s in sources]
    try:
        inventory = InventoryManager(loader=loader, sources=str_sources, parse=True)
        if not inventory.list_hosts("all") and not any(s.stat().st_size for s in sources):
            raise InvalidInput(f"{sources[-1]}: (file): empty inventory (add hosts to the groups)")
        all_group = inventory.groups["all"]
        raw_spec: dict[str, Any] = dict(all_group.get_vars())
        raw_spec.update(get_vars_from_inventory_sources(loader, str_sources, [all_group], "task"))
        spec_templar = Templar(loader=loader, variables=raw_spec)
        spec, problems = _template_each(spec_templar, raw_spec, AnsibleError)
        overrides = spec.get("dockyard_catalogue") or {}
        spec["dockyard_catalogue"] = catalogue.merged(overrides)
        if problems:
            raise SpecInvalid(
                Problem(origin_of(raw_spec, [k], str(sources[-1])), k, msg, "fix the Jinja expression")
                for k, msg in problems
            )
        varman = VariableManager(loader=loader, inventory=inventory)
        hosts: dict[str, Host] = {}
        for h in inventory.get_hosts("all"):
            hvars = varman.get_vars(host=h, include_hostvars=False)
            hosts[h.name] = Host(
                name=h.name,
                groups=frozenset(g.name for g in h.get_groups()) - {"all"},
                _vars=hvars,
                _templar=Templar(loader=loader, variables=hvars),
            )
        groups = {name: sorted(host.name for host in group.get_hosts()) for name, group in inventory.groups.items()}
    except AnsibleError as exc:
        raise InvalidInput(_ansible_error_line(exc, sources[-1])) from None
    return LoadedInventory(
        env=env,
        tree=tree,
        sources=sources,
        hosts=hosts,
        groups=groups,
        spec=spec,
        _raw_spec=raw_spec,
        catalogue_overrides=overrides if isinstance(overrides, dict) else {},
    )


def _template_each(
    templar: Any, raw: Mapping[str, Any], error_type: type[Exception]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    result: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, value in raw.items():
        try:
            result[key] = _plain(templar.template(value))
        except error_type as exc:
            # Never echo a template of the vault: its text is the secret.
            detail = "(details hidden: a vault value)" if key == inventory_files.VAULT_VAR else _first_line(exc)
            problems.append((key, f"cannot be templated: {detail}"))
    return result, problems


_plugin_loader_ready = False


def _init_plugin_loader() -> None:
    """Install Ansible's collection loader once, as the ansible-* commands do at start."""
    global _plugin_loader_ready  # noqa: PLW0603
    if not _plugin_loader_ready:
        from ansible.plugins.loader import init_plugin_loader  # noqa: PLC0415

        init_plugin_loader()
        _plugin_loader_ready = True


def _setup_vault(loader: Any) -> None:
    """Give the loader the vault password Ansible itself would use (environment or ansible.cfg)."""
    from ansible import constants as C  # noqa: PLC0415
    from ansible.parsing.vault import VaultSecretsContext, get_file_vault_secret  # noqa: PLC0415

    # The environment first: ansible.constants is read once per process.
    configured = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE") or C.DEFAULT_VAULT_PASSWORD_FILE
    if not configured or not os.path.exists(configured):
        return
    secret = get_file_vault_secret(filename=configured, vault_id="default", loader=loader)
    secret.load()
    vault_secrets = [("default", secret)]
    loader.set_vault_secrets(vault_secrets)
    # Inline !vault values decrypt through a process-wide context that Ansible initialises once.
    context = VaultSecretsContext.current(optional=True)
    if context is None:
        VaultSecretsContext.initialize(VaultSecretsContext(vault_secrets))
    else:
        context.secrets = vault_secrets


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _ansible_error_line(exc: BaseException, default_file: Path) -> str:
    obj = getattr(exc, "obj", None)
    where = str(default_file)
    tag = _origin_tag(obj) if obj is not None else None
    if tag:
        where = tag
    text = _first_line(exc)
    if "decryption failed" in text.lower():
        return (
            f"{where}: (file): cannot decrypt a vault file with the vault password in use "
            f"(set ANSIBLE_VAULT_PASSWORD_FILE to the password file it was encrypted with)"
        )
    if "vault" in text.lower() and "secret" in text.lower():
        return (
            f"{where}: (file): vault-encrypted but no vault password is configured "
            f"(set ANSIBLE_VAULT_PASSWORD_FILE or vault_password_file in ansible.cfg)"
        )
    return f"{where}: (inventory): {text} (fix the inventory file)"
