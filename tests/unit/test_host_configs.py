"""`invoke render --configs`: the files every role would write, per host, through the roles' own
tasks (tasks/configs.yml) and the dockyard_files action, without contacting a host."""

from __future__ import annotations

from pathlib import Path

from dockyard import catalogue
from tests.cli_runner import invoke as run_invoke


def test_render_configs_writes_every_hosts_files_without_a_host(sample_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_invoke("render", "--env", "dev", "--configs", "--out", str(out), "--inventories", str(sample_tree))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "render --configs OK" in proc.stdout
    hosts = out / "dev" / "hosts"
    node = hosts / "dev-cp-1"
    config = (node / "etc/containerd/config.toml").read_text()
    pause = catalogue.artefact(catalogue.product(), "pause_image")
    assert f"sandbox = 'registry.k8s.io/pause:3.10.1@sha256:{pause.sha256}'" in config  # by digest
    assert "SystemdCgroup = true" in config  # the assumed systemd host
    assert (node / "etc/sysctl.d/90-dockyard-kubernetes.conf").is_file()
    assert (node / "etc/systemd/system/containerd.service").is_file()
    assert (hosts / "gitlab-1/etc/chrony/chrony.conf").is_file()
    assert not (hosts / "gitlab-1/etc/containerd").exists()  # only cluster nodes run containerd
    before = {p: p.stat().st_mtime_ns for p in hosts.rglob("*") if p.is_file()}
    again = run_invoke("render", "--env", "dev", "--configs", "--out", str(out), "--inventories", str(sample_tree))
    assert again.returncode == 0
    assert before == {p: p.stat().st_mtime_ns for p in hosts.rglob("*") if p.is_file()}  # unchanged files untouched


def test_every_role_that_writes_files_does_it_in_configs_yml(repo_root: Path) -> None:
    """dockyard_files in a role's other task files would escape render --configs."""
    offenders = []
    for tasks in (repo_root / "roles").rglob("tasks/*.yml"):
        if tasks.name != "configs.yml" and "dockyard_files:" in tasks.read_text():
            offenders.append(str(tasks.relative_to(repo_root)))
    known_elsewhere = {"roles/internal_ca/tasks/main.yml"}  # its trust files depend on what the host has
    assert sorted(set(offenders) - known_elsewhere) == []
