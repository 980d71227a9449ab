"""Spec validation: the samples pass; every broken spec fails naming the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard import inventory
from dockyard.problems import InvalidInput, SpecInvalid
from dockyard.spec.validate import validate

SPEC_FILE = "platform/group_vars/all/dockyard.yml"


def load_and_validate(tree: Path, env: str = "dev") -> Any:
    return validate(inventory.load(inventory.InventoryTree(tree), env))


@pytest.mark.parametrize("env", ["dev", "stage", "prod"])
def test_samples_are_valid(sample_tree: Path, env: str) -> None:
    platform = load_and_validate(sample_tree, env)
    assert [p.name for p in platform.projects] == ["shop"]
    shop = platform.projects[0]
    assert [(s.name, s.port) for s in shop.services] == [("cart", 8080), ("web", 3000)]
    assert shop.environments == ("dev", "stage", "prod")
    assert platform.environments["prod"].sync == "manual"


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        node = spec
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        node = spec
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


def _add_service(service: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda spec: spec["dockyard_projects"][0]["services"].append(service)


def _add_project(project: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda spec: spec["dockyard_projects"].append(project)


# (id, change, expected key in the message, words expected in the message)
BAD_SPECS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("missing-domain", _delete(["dockyard_domain"]), "dockyard_domain", "missing required key"),
    ("domain-not-dns", _set(["dockyard_domain"], "Example_Corp"), "dockyard_domain", "not valid"),
    ("airgap-not-bool", _set(["dockyard_airgap"], "yes please"), "dockyard_airgap", "expected boolean"),
    ("unknown-layout", _set(["dockyard_argocd_layout"], "hub"), "dockyard_argocd_layout", "one-to-one, central"),
    (
        "sync-typo",
        _set(["dockyard_environments", "dev", "sync"], "automatic"),
        "dockyard_environments.dev.sync",
        "auto, manual",
    ),
    (
        "env-name-upper",
        _set(["dockyard_environments", "QA"], {"sync": "auto"}),
        "dockyard_environments.QA",
        "not a valid name",
    ),
    (
        "project-name-underscore",
        _set(["dockyard_projects", 0, "name"], "my_shop"),
        "dockyard_projects[0].name",
        "not valid",
    ),
    (
        "service-name-too-long",
        _set(["dockyard_projects", 0, "services", 0, "name"], "c" * 64),
        "dockyard_projects[0].services[0].name",
        "not valid",
    ),
    (
        "port-out-of-range",
        _set(["dockyard_projects", 0, "services", 0, "port"], 70000),
        "dockyard_projects[0].services[0].port",
        "maximum 65535",
    ),
    (
        "port-is-string",
        _set(["dockyard_projects", 0, "services", 0, "port"], "8080"),
        "dockyard_projects[0].services[0].port",
        "expected integer",
    ),
    (
        "service-missing-port",
        _delete(["dockyard_projects", 0, "services", 0, "port"]),
        "dockyard_projects[0].services[0].port",
        "missing required key",
    ),
    (
        "unknown-service-key",
        _set(["dockyard_projects", 0, "services", 0, "prot"], 1),
        "dockyard_projects[0].services[0].prot",
        "did you mean port",
    ),
    (
        "duplicate-service",
        _add_service({"name": "cart", "port": 9090}),
        "dockyard_projects[0].services[2].name",
        "listed twice",
    ),
    (
        "unknown-environment",
        _set(["dockyard_projects", 0, "environments"], ["dev", "qa"]),
        "dockyard_projects[0].environments[1]",
        "unknown environment 'qa'",
    ),
    (
        "duplicate-project",
        _add_project({"name": "shop", "services": [{"name": "api", "port": 1}]}),
        "dockyard_projects[1].name",
        "listed twice",
    ),
    (
        "hostname-collision",
        # an explicit hostname label that another service's derived name already uses
        _add_project({"name": "shop2", "services": [{"name": "api", "port": 1, "hostname": "cart-shop"}]}),
        "dockyard_projects[1].services[0].name",
        "cart-shop.dev.platform.example.com",
    ),
    (
        "hostname-collision-derived",
        # service "b-c" of project "a" and service "b" of project "c-a" both become b-c-a.<env>.<domain>
        lambda spec: spec["dockyard_projects"].extend(
            [
                {"name": "a", "services": [{"name": "b-c", "port": 1}]},
                {"name": "c-a", "services": [{"name": "b", "port": 1}]},
            ]
        ),
        "dockyard_projects[2].services[0].name",
        "b-c-a.dev.platform.example.com",
    ),
    (
        "external-without-url",
        _set(["dockyard_tools", "gitlab"], {"mode": "external"}),
        "dockyard_tools.gitlab.url",
        "missing required key",
    ),
    (
        "external-url-http",
        _set(["dockyard_tools", "harbor"], {"mode": "external", "url": "http://harbor"}),
        "dockyard_tools.harbor.url",
        "https://",
    ),
    (
        "tool-mode-typo",
        _set(["dockyard_tools", "jenkins", "mode"], "installed"),
        "dockyard_tools.jenkins.mode",
        "install, external",
    ),
    ("spec-key-typo", _set(["dockyard_projetcs"], []), "dockyard_projetcs", "did you mean dockyard_projects"),
    (
        "bad-sync-window",
        _set(["dockyard_environments", "prod", "sync_windows", 0, "schedule"], "every night"),
        "dockyard_environments.prod.sync_windows[0].schedule",
        "cron",
    ),
    ("central-without-env", _set(["dockyard_argocd_layout"], "central"), "dockyard_argocd_central_env", "central"),
    ("airgap-without-mirror", _set(["dockyard_airgap"], True), "mirror", "no host in group 'mirror'"),
    ("airgap-without-time-servers", _set(["dockyard_airgap"], True), "dockyard_time_servers", "internal time servers"),
    (
        "airgap-public-ntp-pool",
        lambda spec: spec.update(dockyard_airgap=True, dockyard_time_servers=["ntp1.site.internal", "0.pool.ntp.org"]),
        "dockyard_time_servers[1]",
        "public time service",
    ),
    (
        "namespace-prefix-bad",
        _set(["dockyard_environments", "dev", "namespace_prefix"], "Dev_"),
        "dockyard_environments.dev.namespace_prefix",
        "not valid",
    ),
    (
        "cidrs-overlap",
        _set(["dockyard_cluster"], {"pod_cidr": "10.96.0.0/16", "service_cidr": "10.96.0.0/12"}),
        "dockyard_cluster.service_cidr",
        "overlaps pod_cidr",
    ),
    (
        "pod-cidr-holds-a-host",
        _set(["dockyard_cluster"], {"pod_cidr": "198.51.100.0/24"}),
        "dockyard_cluster.pod_cidr",
        "contains host dev-cp-1's address 198.51.100.11",
    ),
    (
        "pod-cidr-host-bits",
        _set(["dockyard_cluster"], {"pod_cidr": "10.244.1.0/16"}),
        "dockyard_cluster.pod_cidr",
        "not a network",
    ),
    (
        "pod-cidr-not-cidr",
        _set(["dockyard_cluster"], {"pod_cidr": "10.244.0.0"}),
        "dockyard_cluster.pod_cidr",
        "CIDR",
    ),
    ("kube-vip-without-vip", _set(["dockyard_kube_api_lb"], "kube-vip"), "dockyard_kube_api_vip", "kube-vip"),
    ("lb-typo", _set(["dockyard_kube_api_lb"], "keepalived"), "dockyard_kube_api_lb", "kube-vip, haproxy-local"),
    (
        "extra-san-not-a-name",
        _set(["dockyard_kube_api_extra_sans"], ["api.example.com", "API_Server"]),
        "dockyard_kube_api_extra_sans[1]",
        "DNS name",
    ),
    (
        "extra-san-twice",
        _set(["dockyard_kube_api_extra_sans"], ["api.example.com", "api.example.com"]),
        "dockyard_kube_api_extra_sans",
        "each once",
    ),
    (
        "vip-in-service-cidr",
        _set(["dockyard_kube_api_vip"], "10.96.0.10"),
        "dockyard_kube_api_vip",
        "inside service_cidr",
    ),
]


@pytest.mark.parametrize(("change", "key", "words"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_names_file_and_key(
    edit_spec: Callable[..., Path], change: Callable[[dict[str, Any]], None], key: str, words: str
) -> None:
    tree = edit_spec(change)
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(tree)
    lines = caught.value.lines()
    matching = [line for line in lines if f": {key}: " in line and words in line]
    assert matching, f"no problem for {key!r} mentioning {words!r} in:\n" + "\n".join(lines)
    for line in matching:
        file = line.split(": ", 1)[0]
        assert "inventories/" in file, line
        assert file.split(":")[0].endswith((".yml", "hosts.yml")), line


def test_every_problem_reported_at_once(edit_spec: Callable[..., Path]) -> None:
    def many(spec: dict[str, Any]) -> None:
        spec["dockyard_domain"] = "BAD"
        spec["dockyard_projects"][0]["services"][0]["port"] = 0
        spec["dockyard_tools"]["gitlab"]["mode"] = "nope"

    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(edit_spec(many))
    keys = {line.split(": ")[1] for line in caught.value.lines()}
    assert {"dockyard_domain", "dockyard_projects[0].services[0].port", "dockyard_tools.gitlab.mode"} <= keys


def test_problem_points_at_the_line(edit_spec: Callable[..., Path]) -> None:
    tree = edit_spec(_set(["dockyard_projects", 0, "services", 1, "port"], -1))
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(tree)
    (line,) = [x for x in caught.value.lines() if "services[1].port" in x]
    file, lineno = line.split(": ")[0].rsplit(":", 1)
    text = (
        Path(file).read_text().splitlines()
        if Path(file).is_absolute()
        else (Path.cwd() / file).read_text().splitlines()
    )
    assert "port: -1" in text[int(lineno) - 1]


def test_environment_without_control_plane(sample_tree: Path) -> None:
    hosts = sample_tree / "dev" / "hosts.yml"
    data = yaml.safe_load(hosts.read_text())
    del data["all"]["children"]["kube_control_plane"]
    hosts.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(sample_tree)
    assert any(
        line.startswith(str(hosts)) and ": kube_control_plane: " in line and "no control-plane host" in line
        for line in caught.value.lines()
    ), caught.value.lines()


def test_install_mode_needs_a_host(sample_tree: Path) -> None:
    hosts = sample_tree / "platform" / "hosts.yml"
    data = yaml.safe_load(hosts.read_text())
    del data["all"]["children"]["harbor"]
    hosts.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(sample_tree)
    assert any(
        "dockyard.yml" in line and ": dockyard_tools.harbor.mode: " in line and "no host in group 'harbor'" in line
        for line in caught.value.lines()
    ), caught.value.lines()


def test_env_identity_must_match_folder(sample_tree: Path) -> None:
    (sample_tree / "dev" / "group_vars" / "all" / "env.yml").write_text("---\ndockyard_env: stage\n")
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(sample_tree)
    assert any("dev/group_vars/all/env.yml" in line and ": dockyard_env: " in line for line in caught.value.lines()), (
        caught.value.lines()
    )


def test_catalogue_version_must_be_pinned(sample_tree: Path) -> None:
    path = sample_tree / "platform" / "group_vars" / "all" / "versions.yml"
    data = yaml.safe_load(path.read_text())
    data["dockyard_catalogue"] = {
        "helm": {"version": "latest"},
        "runc": {"artefacts": {"runc-linux-amd64": {"sha256": "abc"}}},
        # an added artefact with an unknown pin and no reason
        "harbor": {
            "artefacts": {"harbor-extra": {"kind": "file", "url": "https://x.example/h.tgz", "sha256": "unknown"}}
        },
    }
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(sample_tree)
    lines = caught.value.lines()
    for key in (
        "dockyard_catalogue.helm.version",
        "dockyard_catalogue.runc.artefacts.runc-linux-amd64.sha256",
        "dockyard_catalogue.harbor.artefacts.harbor-extra.unknown_reason",
    ):
        assert any("versions.yml" in line and f": {key}: " in line for line in lines), (key, lines)


def test_invalid_yaml_is_one_clear_line(sample_tree: Path) -> None:
    (sample_tree / "dev" / "hosts.yml").write_text("all:\n  children: [\n")
    with pytest.raises(InvalidInput) as caught:
        load_and_validate(sample_tree)
    assert "dev/hosts.yml" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_broken_jinja_names_the_key(edit_spec: Callable[..., Path]) -> None:
    tree = edit_spec(_set(["dockyard_domain"], "{{ no_such_variable }}.example.com"))
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(tree)
    assert any(": dockyard_domain: " in line and "templated" in line for line in caught.value.lines())


def test_skip_phases_names_a_phase_and_a_reason(edit_spec: Callable[..., Path]) -> None:
    tree = edit_spec(lambda s: s.update(dockyard_skip_phases={"tools": "installed by another team"}))
    load_and_validate(tree)
    tree = edit_spec(lambda s: s.update(dockyard_skip_phases={"toolz": "typo", "tools": ""}))
    with pytest.raises(SpecInvalid) as caught:
        load_and_validate(tree)
    lines = caught.value.lines()
    assert any("dockyard_skip_phases" in line and "toolz" in line for line in lines), lines
    assert any("dockyard_skip_phases.tools" in line for line in lines), lines
