"""Operator mistakes against every command: each gives a clear error naming the file (and line) and
the key or value, a non-zero exit, no traceback, no secret printed and nothing written.

Every case runs the command's own function in this process (the one the invoke task wraps, so an
exception escaping it is a traceback at the operator and fails the test), against a throwaway
copy of the sample inventories with an encrypted vault holding known secrets. A few cases about
the invoke command line itself run `invoke` as an operator does.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard import cli, secrets
from tests.cli_runner import invoke

ROOT = Path(__file__).resolve().parents[2]
SECRET_VALUES = ("Canary-gitlab-token-7f3a9c21d4", "admin:Canary-harbor-pw-55e1b0")
URL_PASSWORD = "Canary-url-pw-0d9e"
SPEC = "platform/group_vars/all/dockyard.yml"
OVERRIDES = "platform/group_vars/all/versions.yml"
VAULT = "platform/group_vars/all/vault.yml"


@dataclass
class World:
    root: Path  # a repository root of its own: .dockyard (vault password), playbooks
    tree: Path  # the inventories
    tmp: Path

    @property
    def password(self) -> Path:
        return self.root / ".dockyard" / "vault-password"

    def spec(self) -> dict[str, Any]:
        return yaml.safe_load((self.tree / SPEC).read_text())

    def edit(self, change: Callable[[dict[str, Any]], None], file: str = SPEC) -> None:
        path = self.tree / file
        data = yaml.safe_load(path.read_text()) or {}
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    def write(self, file: str, text: str) -> None:
        path = self.tree / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def vault_bytes(self, plain: str, password: bytes | None = None) -> bytes:
        from ansible.parsing.vault import VaultLib, VaultSecret  # noqa: PLC0415

        pw = password or self.password.read_bytes().strip()
        return VaultLib([("default", VaultSecret(pw))]).encrypt(plain.encode())

    def host(self, inv: str, name: str, **values: Any) -> None:
        """Set variables of a host in inventories/<inv>/hosts.yml."""

        def change(data: dict[str, Any]) -> None:
            for group in data["all"]["children"].values():
                if name in (group.get("hosts") or {}):
                    group["hosts"][name].update(values)

        self.edit(change, f"{inv}/hosts.yml")


@pytest.fixture
def world(operator_root: Path, sample_tree: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    store = secrets.Vault.open(inventory_tree(sample_tree), "dev", cli.state_dir(operator_root))
    store.set_many({"gitlab.root_token": SECRET_VALUES[0], "harbor.admin_token": SECRET_VALUES[1]})
    monkeypatch.delenv(secrets.PASSWORD_ENV, raising=False)
    return World(operator_root, sample_tree, sample_tree.parent)


def inventory_tree(path: Path) -> Any:
    from dockyard.inventory import InventoryTree  # noqa: PLC0415

    return InventoryTree(path)


def snapshot(base: Path) -> dict[str, str]:
    state = {}
    for path in sorted(base.rglob("*")):
        rel = str(path.relative_to(base))
        if path.is_symlink():
            state[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[rel] = "dir"
    return state


# ------------------------------------------------------------------------------------ commands


def validate(w: World, env: str = "dev") -> int:
    return cli.validate(w.root, str(w.tree), env)


def plan(w: World, tags: str | None = None, limit: str | None = None) -> int:
    return cli.plan(w.root, str(w.tree), "dev", tags=tags, limit=limit)


def bootstrap(w: World, tags: str | None = None, limit: str | None = None) -> int:
    return cli.bootstrap(w.root, str(w.tree), "dev", tags=tags, limit=limit, skip_preflight=True)


def preflight(w: World) -> int:
    return cli.run_preflight(w.root, str(w.tree), "dev")


def render(w: World, out: str | None = None, env: str = "dev") -> int:
    from dockyard.gitops import cli as gitops  # noqa: PLC0415

    return gitops.render(w.root, str(w.tree), env, out or str(w.tmp / "rendered"))


def seed_dry_run(w: World) -> int:
    from dockyard.seed.cli import seed_command  # noqa: PLC0415

    return seed_command(w.root, str(w.tree), "dev", dry_run=True)


def promote(w: World, project: str = "shop", service: str = "cart", to: str = "stage") -> int:
    from dockyard.gitops import cli as gitops  # noqa: PLC0415

    return gitops.promote(
        w.root, str(w.tree), project=project, service=service, from_env="dev", to_env=to, repo=str(w.tmp / "none")
    )


# --------------------------------------------------------------------------------------- edits


def setter(path: list[Any], value: Any, file: str = SPEC) -> Callable[[World], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        node[path[-1]] = value

    return lambda w: w.edit(change, file)


def service(key: str, value: Any, index: int = 0) -> Callable[[World], None]:
    return setter(["dockyard_projects", 0, "services", index, key], value)


def resources(value: dict[str, Any]) -> Callable[[World], None]:
    return service("resources", value)


def window(key: str, value: Any) -> Callable[[World], None]:
    return setter(["dockyard_environments", "prod", "sync_windows", 0, key], value)


def tool(name: str, value: dict[str, Any]) -> Callable[[World], None]:
    return setter(["dockyard_tools", name], value)


def image_override(ref: str) -> Callable[[World], None]:
    return setter(["dockyard_catalogue", "calico", "artefacts", "calico-node-image", "ref"], ref, OVERRIDES)


def text_edit(file: str, old: str, new: str) -> Callable[[World], None]:
    def change(w: World) -> None:
        path = w.tree / file
        text = path.read_text()
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1))

    return change


def append(file: str, text: str) -> Callable[[World], None]:
    return lambda w: (w.tree / file).write_text((w.tree / file).read_text() + text)


def new_file(file: str, text: str) -> Callable[[World], None]:
    return lambda w: w.write(file, text)


def vault_plain(w: World) -> None:
    (w.tree / VAULT).write_text(f"dockyard_secrets:\n  gitlab.root_token: {SECRET_VALUES[0]}\n")


def vault_wrong_password(w: World) -> None:
    w.password.write_text("not-the-password-it-was-encrypted-with\n")


def vault_no_password(w: World) -> None:
    w.password.unlink()


def vault_truncated(w: World) -> None:
    data = (w.tree / VAULT).read_bytes()
    (w.tree / VAULT).write_bytes(data[: len(data) // 2])


def vault_corrupted(w: World) -> None:
    lines = (w.tree / VAULT).read_bytes().splitlines(keepends=True)
    (w.tree / VAULT).write_bytes(lines[0] + b"zz" + b"".join(lines[1:])[2:])


def vault_header_only(w: World) -> None:
    (w.tree / VAULT).write_bytes(b"$ANSIBLE_VAULT;1.1;AES256\n")


def vault_content(text: str) -> Callable[[World], None]:
    return lambda w: (w.tree / VAULT).write_bytes(w.vault_bytes(text))


def other_encrypted_file(w: World) -> None:
    w.write("dev/group_vars/all/extra.yml", w.vault_bytes("dockyard_dns: false\n", b"another-password").decode())


def two_hosts_one_address(w: World) -> None:
    w.host("dev", "dev-worker-2", ansible_host="198.51.100.15")


def platform_and_cluster_share_address(w: World) -> None:
    w.host("dev", "dev-cp-1", ansible_host="192.0.2.11")


def same_name_two_addresses(w: World) -> None:
    w.edit(
        lambda d: d["all"]["children"]["kube_node"]["hosts"].update({"shared-1": {"ansible_host": "198.51.100.40"}}),
        "dev/hosts.yml",
    )
    w.edit(
        lambda d: d["all"]["children"]["kube_node"]["hosts"].update({"shared-1": {"ansible_host": "198.51.100.41"}}),
        "stage/hosts.yml",
    )


def platform_name_in_cluster(w: World) -> None:
    w.edit(
        lambda d: d["all"]["children"]["kube_node"]["hosts"].update({"gitlab-1": {"ansible_host": "198.51.100.99"}}),
        "dev/hosts.yml",
    )


def inventory_without_spec_entry(w: World) -> None:
    w.write("qa/hosts.yml", "---\nall:\n  children:\n    kube_control_plane:\n      hosts:\n        qa-cp-1:\n")


def a_file(w: World) -> None:
    (w.tmp / "a-file").write_text("not a folder\n")


def file_for_out(w: World) -> str:
    if not (w.tmp / "a-file").exists():
        a_file(w)
    return str(w.tmp / "a-file")


def external_with(**extra: Any) -> Callable[[World], None]:
    return tool("harbor", {"mode": "external", "url": "https://harbor.example.com", **extra})


# ------------------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[World], None] | None
    run: Callable[[World], int]
    expect: tuple[str, ...]  # all of these in the error output: file (and line), key or value
    code: int = 2


def _noop(_w: World) -> None:
    return None


CASES: list[Case] = [
    # --- YAML, tabs and vaults: the file that failed, with its line, never dev/hosts.yml
    Case("yaml-in-spec", text_edit(SPEC, "dockyard_dns: true", "dockyard_dns: [true"), validate, (SPEC + ":",)),
    Case(
        "yaml-tab-env",
        append("dev/group_vars/all/env.yml", "extra:\n\t- 1\n"),
        validate,
        ("dev/group_vars/all/env.yml:5", "tab"),
    ),
    Case(
        "yaml-tab-spec",
        text_edit(SPEC, "  dev:\n    sync: auto", "  dev:\n\tsync: auto"),
        validate,
        (SPEC + ":", "tab"),
    ),
    Case(
        "yaml-in-preflight",
        append("platform/group_vars/all/preflight.yml", "bad: : :\n"),
        validate,
        ("platform/group_vars/all/preflight.yml:", "not valid YAML"),
    ),
    Case(
        "yaml-in-host-vars",
        new_file("dev/host_vars/dev-cp-1.yml", "ansible_user: [root\n"),
        validate,
        ("dev/host_vars/dev-cp-1.yml:", "not valid YAML"),
    ),
    Case("yaml-in-hosts", append("dev/hosts.yml", "  vars: {a: [}\n"), validate, ("dev/hosts.yml:", "not valid YAML")),
    Case(
        "yaml-tab-hosts",
        text_edit("dev/hosts.yml", "          ansible_host: 198.51.100.16", "\t  ansible_host: 198.51.100.16"),
        validate,
        ("dev/hosts.yml:", "tab"),
    ),
    Case("vault-wrong-password", vault_wrong_password, validate, (VAULT, "cannot decrypt")),
    Case("vault-no-password", vault_no_password, validate, (VAULT, "no vault password")),
    Case("vault-truncated", vault_truncated, validate, (VAULT, "corrupted or truncated")),
    Case("vault-corrupted", vault_corrupted, validate, (VAULT, "corrupted or truncated")),
    Case("vault-header-only", vault_header_only, validate, (VAULT, "corrupted or truncated")),
    Case("vault-yaml-broken", vault_content("dockyard_secrets: {a: [\n"), validate, (VAULT + ":", "not valid YAML")),
    Case("other-encrypted-file", other_encrypted_file, validate, ("dev/group_vars/all/extra.yml", "cannot decrypt")),
    Case("vault-no-password-render", vault_no_password, render, (VAULT, "no vault password")),
    Case("vault-no-password-seed", vault_no_password, seed_dry_run, (VAULT, "no vault password")),
    # --- plaintext vaults and redaction
    Case("vault-plaintext", vault_plain, validate, (VAULT + ":1", "dockyard_secrets", "not vault-encrypted")),
    Case(
        "secrets-in-spec-file",
        append(SPEC, f"dockyard_secrets:\n  jenkins.admin_token: {SECRET_VALUES[1]}\n"),
        validate,
        (SPEC + ":", "dockyard_secrets", "ansible-vault encrypt"),
    ),
    Case(
        "vault-value-not-a-string",
        vault_content(f"dockyard_secrets:\n  a: [{SECRET_VALUES[0]}]\n"),
        validate,
        (VAULT, "dockyard_secrets.a", "value hidden"),
    ),
    Case(
        "vault-value-bad-jinja",
        vault_content('dockyard_secrets:\n  a: "{{ Canary-gitlab-token-7f3a9c21d4 }"\n'),
        validate,
        ("dockyard_secrets", "details hidden"),
    ),
    # --- duplicate keys: both lines
    Case(
        "duplicate-top-key",
        append(SPEC, "dockyard_airgap: true\n"),
        validate,
        (SPEC + ":", "dockyard_airgap", "defined twice", "lines 11 and"),
    ),
    Case(
        "duplicate-nested-key",
        text_edit(SPEC, "        port: 8080\n", "        port: 8080\n        port: 8081\n"),
        validate,
        (SPEC + ":", "port", "defined twice"),
    ),
    Case(
        "duplicate-host",
        text_edit("dev/hosts.yml", "        dev-worker-2:\n", "        dev-worker-1:\n"),
        validate,
        ("dev/hosts.yml:", "dev-worker-1", "defined twice"),
    ),
    Case(
        "duplicate-in-env-vars",
        append("dev/group_vars/all/env.yml", "dockyard_env: dev\n"),
        validate,
        ("dev/group_vars/all/env.yml:", "dockyard_env", "defined twice"),
    ),
    Case(
        "duplicate-in-vault",
        vault_content("dockyard_secrets:\n  a: x1234567\n  a: y1234567\n"),
        validate,
        (VAULT + ":3", "defined twice"),
    ),
    # --- whole-string names (a trailing newline is not part of a name)
    Case(
        "newline-project",
        setter(["dockyard_projects", 0, "name"], "shop\n"),
        validate,
        (SPEC, "dockyard_projects[0].name", "not valid"),
    ),
    Case("newline-service", service("name", "cart\n"), validate, (SPEC, "services[0].name", "not valid")),
    Case(
        "newline-env",
        setter(["dockyard_environments", "qa\n"], {"sync": "auto"}),
        validate,
        (SPEC, "dockyard_environments.qa", "not a valid name"),
    ),
    Case(
        "newline-domain", setter(["dockyard_domain"], "example.com\n"), validate, (SPEC, "dockyard_domain", "not valid")
    ),
    Case(
        "newline-prefix",
        setter(["dockyard_environments", "dev", "namespace_prefix"], "dev-\n"),
        validate,
        (SPEC, "dockyard_environments.dev.namespace_prefix", "not valid"),
    ),
    Case(
        "newline-build-ns",
        setter(["dockyard_ci", "build_namespace"], "builds\n"),
        validate,
        (SPEC, "dockyard_ci.build_namespace", "not valid"),
    ),
    # --- Kubernetes resource quantities
    Case(
        "cpu-words",
        resources({"requests": {"cpu": "lots"}}),
        validate,
        (SPEC, "resources.requests.cpu", "'lots' is not a Kubernetes quantity"),
    ),
    Case(
        "memory-gb",
        resources({"limits": {"memory": "1GB"}}),
        validate,
        (SPEC, "resources.limits.memory", "'1GB'", "256Mi"),
    ),
    Case("cpu-negative", resources({"requests": {"cpu": -1}}), validate, (SPEC, "resources.requests.cpu", "-1")),
    Case(
        "memory-newline",
        resources({"requests": {"memory": "64Mi\n"}}),
        validate,
        (
            SPEC,
            "resources.requests.memory",
        ),
    ),
    Case(
        "request-above-limit",
        resources({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}),
        validate,
        (SPEC, "resources.requests.memory", "above the limit"),
    ),
    Case(
        "unknown-resource",
        resources({"requests": {"gpu": 1}}),
        validate,
        (SPEC, "resources.requests.gpu", "unknown key"),
    ),
    # --- sync windows: cron and time zone
    Case(
        "cron-minute-61",
        window("schedule", "61 20 * * *"),
        validate,
        (SPEC, "sync_windows[0].schedule", "minute field '61'"),
    ),
    Case("cron-four-fields", window("schedule", "0 20 * *"), validate, (SPEC, "sync_windows[0].schedule", "4 field")),
    Case(
        "cron-bad-day",
        window("schedule", "0 20 * * MON-FOO"),
        validate,
        (SPEC, "sync_windows[0].schedule", "day of week"),
    ),
    Case("cron-backwards", window("schedule", "0 22-20 * * *"), validate, (SPEC, "schedule", "runs backwards")),
    Case("cron-step-zero", window("schedule", "*/0 * * * *"), validate, (SPEC, "schedule", "step '0'")),
    Case(
        "time-zone-unknown",
        window("timeZone", "Mars/Olympus_Mons"),
        validate,
        (SPEC, "sync_windows[0].timeZone", "Mars/Olympus_Mons"),
    ),
    Case("time-zone-path", window("timeZone", "../../etc/passwd"), validate, (SPEC, "timeZone", "not a time zone")),
    # --- image references
    Case(
        "image-untagged",
        image_override("quay.io/calico/node"),
        validate,
        (OVERRIDES, "calico-node-image.ref", "no tag or digest"),
    ),
    Case("image-latest", image_override("quay.io/calico/node:latest"), validate, (OVERRIDES, "ref", "latest")),
    Case("image-garbage", image_override("quay.io/Calico/node:v1"), validate, (OVERRIDES, "ref", "not")),
    # --- Service names
    Case(
        "service-starts-with-digit",
        service("name", "1api"),
        validate,
        (SPEC, "dockyard_projects[0].services[0].name", "starting with a letter"),
    ),
    Case("service-upper", service("name", "Cart"), validate, (SPEC, "services[0].name", "'Cart'")),
    Case("service-underscore", service("name", "my_cart"), validate, (SPEC, "services[0].name", "not valid")),
    # --- tool URLs
    Case(
        "url-credentials",
        external_with(url=f"https://admin:{URL_PASSWORD}@harbor.example.com"),
        validate,
        (SPEC, "dockyard_tools.harbor.url", "carries credentials"),
    ),
    Case(
        "url-path",
        external_with(url="https://harbor.example.com/registry"),
        validate,
        (SPEC, "dockyard_tools.harbor.url", "path", "https://harbor.example.com"),
    ),
    Case("url-query", external_with(url="https://harbor.example.com/?x=1"), validate, (SPEC, "harbor.url", "query")),
    Case(
        "url-port-garbage",
        external_with(url="https://harbor.example.com:99999"),
        validate,
        (
            SPEC,
            "harbor.url",
        ),
    ),
    # --- hosts and inventories
    Case(
        "two-hosts-one-address",
        two_hosts_one_address,
        validate,
        ("dev/hosts.yml", "dev-worker-2.ansible_host", "198.51.100.15:22", "dev-worker-1"),
    ),
    Case("platform-and-cluster-address", platform_and_cluster_share_address, validate, ("hosts.yml", "192.0.2.11:22")),
    Case(
        "same-name-two-inventories",
        same_name_two_addresses,
        validate,
        ("stage/hosts.yml:", "shared-1.ansible_host", "198.51.100.41", "dev/hosts.yml"),
    ),
    Case("platform-name-in-cluster", platform_name_in_cluster, validate, ("dev/hosts.yml:", "gitlab-1", "192.0.2.11")),
    Case(
        "spec-env-without-inventory",
        setter(["dockyard_environments", "qa"], {"sync": "auto"}),
        validate,
        (SPEC, "dockyard_environments.qa", "no inventory", "qa/hosts.yml"),
    ),
    Case(
        "inventory-without-spec-env",
        inventory_without_spec_entry,
        validate,
        ("qa/hosts.yml", "dockyard_environments", "no entry"),
    ),
    Case(
        "port-not-numeric",
        lambda w: w.host("dev", "dev-cp-1", ansible_port="ssh"),
        validate,
        ("dev/hosts.yml:", "dev-cp-1.ansible_port", "'ssh' is not a port number"),
    ),
    Case(
        "port-too-big",
        lambda w: w.host("dev", "dev-cp-1", ansible_port=70000),
        validate,
        ("dev/hosts.yml:", "dev-cp-1.ansible_port", "70000 is outside 1-65535"),
    ),
    Case(
        "port-zero",
        lambda w: w.host("platform", "gitlab-1", ansible_port=0),
        validate,
        ("platform/hosts.yml:", "gitlab-1.ansible_port", "outside"),
    ),
    Case(
        "port-in-group-vars",
        new_file("dev/group_vars/kube_node.yml", "ansible_port: 65536\n"),
        validate,
        ("dev/group_vars/kube_node.yml:1", "ansible_port", "65536"),
    ),
    Case(
        "port-not-numeric-preflight",
        lambda w: w.host("dev", "dev-cp-1", ansible_port="twenty-two"),
        preflight,
        ("dev/hosts.yml:", "dev-cp-1.ansible_port"),
    ),
    Case(
        "service-host-not-an-ip",
        lambda w: w.host("platform", "harbor-1", ansible_host="harbor-1.example.com"),
        validate,
        ("platform/hosts.yml:", "harbor-1.ansible_host", "not an IP address"),
    ),
    # --- what seed will need, checked by validate
    Case(
        "ca-file-missing",
        external_with(ca_file="/nonexistent/harbor-ca.pem"),
        validate,
        (SPEC, "dockyard_tools.harbor.ca_file", "/nonexistent/harbor-ca.pem"),
    ),
    Case(
        "token-env-unset",
        tool(
            "jenkins",
            {"mode": "external", "url": "https://ci.example.com", "token_env": "DOCKYARD_TEST_UNSET_TOKEN_15"},
        ),
        validate,
        (SPEC, "dockyard_tools.jenkins.token_env", "DOCKYARD_TEST_UNSET_TOKEN_15", "jenkins.admin_token"),
    ),
    Case(
        "token-env-newline",
        external_with(token_env="HARBOR_TOKEN\n"),
        validate,
        (SPEC, "harbor.token_env", "not valid"),
    ),
    # --- the same mistakes through the other commands
    Case("render-bad-spec", service("name", "1api"), render, (SPEC, "services[0].name")),
    Case("seed-bad-spec", window("timeZone", "Nowhere/Land"), seed_dry_run, (SPEC, "timeZone")),
    Case("promote-bad-spec", resources({"requests": {"cpu": "much"}}), promote, (SPEC, "resources.requests.cpu")),
    Case("plan-bad-spec", same_name_two_addresses, plan, ("stage/hosts.yml:", "shared-1")),
    Case(
        "bootstrap-bad-yaml",
        append("dev/group_vars/all/env.yml", "x: [\n"),
        bootstrap,
        ("dev/group_vars/all/env.yml:", "not valid YAML"),
    ),
    Case(
        "preflight-duplicate-key",
        append("dev/group_vars/all/env.yml", "dockyard_env: dev\n"),
        preflight,
        ("dev/group_vars/all/env.yml:", "defined twice"),
    ),
    # --- tags, limits and output folders
    Case("plan-unknown-tag", None, lambda w: plan(w, tags="common,bogus"), ("--tags bogus", "common, internal_ca")),
    Case("plan-empty-tag", None, lambda w: plan(w, tags="common,"), ("--tags", "empty tag")),
    Case("bootstrap-unknown-tag", None, lambda w: bootstrap(w, tags="tools-typo"), ("--tags tools-typo", "phases")),
    Case("plan-unknown-limit", None, lambda w: plan(w, limit="dev-cp-9"), ("--limit dev-cp-9", "dev-cp-1")),
    Case("render-out-is-file", a_file, lambda w: render(w, out=file_for_out(w)), ("--out", "a-file", "is a file")),
    Case("render-out-under-file", a_file, lambda w: render(w, out=file_for_out(w) + "/sub"), ("--out", "a-file")),
    Case("render-out-unwritable", None, lambda w: render(w, out="/proc/dockyard-15/out"), ("--out", "/proc")),
    Case("promote-unknown-project", None, lambda w: promote(w, project="nosuch"), ("nosuch",)),
    Case(
        "unknown-environment", None, lambda w: validate(w, env="qa"), ("unknown environment 'qa'", "dev, prod, stage")
    ),
    Case("hosts-count-zero", None, lambda w: cli.hosts(w.root, "up", "0"), ("--count 0", "1 to")),
    Case("hosts-count-on-status", None, lambda w: cli.hosts(w.root, "status", "3"), ("--count", "hosts up")),
    Case("hosts-unknown-action", None, lambda w: cli.hosts(w.root, "frobnicate"), ("frobnicate", "up, down or status")),
]


def _secrets_in(text: str) -> list[str]:
    return [s for s in (*SECRET_VALUES, URL_PASSWORD, "Canary-") if s in text]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world: World, capsys: pytest.CaptureFixture[str]) -> None:
    if case.change:
        case.change(world)
    before = snapshot(world.tmp)
    code = case.run(world)  # an exception here is a traceback at the operator
    out, err = capsys.readouterr()
    text = out + err
    assert code == case.code, text
    assert "Traceback" not in text
    for fragment in case.expect:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert not _secrets_in(text), text
    assert snapshot(world.tmp) == before, "something was written"
    for line in err.splitlines():
        assert line.startswith(("validate FAILED", "  ", "error: ")), line


def test_at_least_sixty_cases() -> None:
    assert len(CASES) + len(COMMAND_LINE) >= 60


def test_no_vault_password_is_never_made_for_an_existing_vault(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    vault_no_password(world)
    for command in (validate, render, seed_dry_run, plan):
        assert command(world) == 2
        assert not world.password.exists()
    assert "a new password could not open it" in capsys.readouterr().err


def test_render_writes_the_vault_only_with_its_output(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    vault = world.tree / VAULT
    before = vault.read_bytes()
    assert render(world, out=file_for_out(world)) == 2
    assert vault.read_bytes() == before  # the Argo CD admin password was not stored for nothing
    assert render(world) == 0, capsys.readouterr().err
    assert vault.read_bytes() != before  # and is, once the output is written
    assert "argocd" in " ".join(secrets.Vault.open(inventory_tree(world.tree), "dev", cli.state_dir(world.root)).keys())


# ------------------------------------------------------------------------- the invoke command line

COMMAND_LINE = [
    (("hosts", "up", "--count", "x"), "--count x: not a number of hosts"),
    (("bench", "render", "--option", "projects"), "--option 'projects': expected NAME=VALUE"),
    (("plan", "--env", "dev", "--tags", "nosuch"), "--tags nosuch: no such phase or tag"),
]


@pytest.mark.parametrize(("args", "message"), COMMAND_LINE, ids=[a[0] + "-" + a[-1] for a, _m in COMMAND_LINE])
def test_command_line_mistakes(args: tuple[str, ...], message: str, sample_tree: Path) -> None:
    if args[0] == "plan":
        args = (*args, "--inventories", str(sample_tree))
    before = snapshot(sample_tree)
    proc = invoke(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert snapshot(sample_tree) == before
