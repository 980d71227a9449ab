"""The README's main job on real hosts: `invoke bootstrap --env local` converges, a rerun changes
nothing, and an image pushed into the mirror registry is pulled by containerd on another host by
its upstream name, through the configured mirror, with TLS verified against the internal CA."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard import secrets as vault
from dockyard.inventory import InventoryTree
from dockyard.localhosts import hosts as local
from dockyard.localhosts.engine import DOCKER
from dockyard.mirror.credentials import PUSH_PASSWORD, PUSH_USER
from tests import cli_runner

ROOT = Path(__file__).resolve().parents[2]
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

pytestmark = pytest.mark.hosts


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_runner.invoke(*args, timeout=1800)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check)


def on(host: str, *cmd: str) -> str:
    return docker("exec", host, *cmd).stdout


def recap(stdout: str) -> dict[str, tuple[int, int, int, int]]:
    return {m[1]: (int(m[2]), int(m[3]), int(m[4]), int(m[5])) for m in RECAP.finditer(stdout)}


@pytest.fixture(scope="module")
def lab(docker_engine: Path, test_image: str) -> Iterator[dict[str, str]]:
    """The local lab, bootstrapped once for this module; removed afterwards unless it was already up."""
    existed = bool(docker("ps", "-aq", "--filter", f"label={local.LABEL}").stdout.strip())
    # No kubeadm or tool roles yet: the argocd phase and the tools are not done, so only a partial
    # run can pass (the summary lists what was not done).
    first = invoke("bootstrap", "--env", "local", "--allow-partial")
    assert first.returncode == 0, (first.stdout + first.stderr)[-8000:]
    assert "bootstrap PARTIAL (allowed by --allow-partial)" in first.stdout
    addresses = {
        line.split()[0]: line.split()[1]
        for line in invoke("hosts", "status").stdout.splitlines()
        if line.startswith(local.PREFIX)
    }
    yield {"first_run": first.stdout, **addresses}
    if not existed:  # the engine stays: the session's docker_engine fixture stops it if it started it
        local.down(ROOT, docker_engine, say=lambda _line: None, stop_engine=False)


def test_bootstrap_converges_and_rerun_changes_nothing(lab: dict[str, str]) -> None:
    first = recap(lab["first_run"])
    assert {f"{local.PREFIX}{i}" for i in (1, 2, 3)} <= set(first)  # and localhost (controller-side phases)
    assert all(failed == 0 and unreachable == 0 for _ok, _changed, unreachable, failed in first.values())
    assert "preflight OK: 3 host(s) passed every check" in lab["first_run"]
    again = invoke("bootstrap", "--env", "local")  # without --allow-partial: honest about it
    assert again.returncode == 1, again.stdout[-6000:] + again.stderr
    assert "bootstrap INCOMPLETE:" in again.stdout and "  not done:" in again.stdout
    second = recap(again.stdout)
    assert set(second) == set(first)
    changed = {host: r[1] for host, r in second.items() if r[1] != 0}
    assert not changed, f"rerun changed something: {changed}\n{again.stdout[-6000:]}"


def test_plan_shows_nothing_to_change(lab: dict[str, str]) -> None:
    proc = invoke("plan", "--env", "local")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "would change: nothing" in proc.stdout
    assert f"{local.PREFIX}2: ok=" in proc.stdout


def test_mirror_pull_with_verified_tls(lab: dict[str, str], tmp_path: Path) -> None:
    mirror_host, node = f"{local.PREFIX}1", f"{local.PREFIX}2"
    tag = secrets.token_hex(6)
    payload = f"dockyard e2e {tag}\n"
    (tmp_path / "hello.txt").write_text(payload)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    local_name = f"dockyard-e2e:{tag}"
    docker("build", "-q", "-t", local_name, str(tmp_path))
    try:
        # Push from this machine by the mirror's address (its certificate carries it as a SAN),
        # trusting only the internal CA.
        certs = tmp_path / "certs"
        certs.mkdir()
        shutil.copy(ROOT / ".dockyard" / "pki" / "ca.crt", certs / "ca.crt")
        target = f"{lab[mirror_host]}:5000/docker.io/library/dockyard-e2e:{tag}"
        copy = ["skopeo", "copy", "--dest-cert-dir", str(certs), f"docker-daemon:{local_name}", f"docker://{target}"]
        anonymous = subprocess.run(copy, capture_output=True, text=True, check=False)
        assert anonymous.returncode != 0 and "authentication required" in anonymous.stderr, anonymous.stderr
        # With the push account from the vault (bootstrap generated it), the push works.
        password = vault.Vault.open(InventoryTree(ROOT / "inventories"), "local", ROOT / ".dockyard").require(
            PUSH_PASSWORD, "bootstrap generates it"
        )
        with_creds = [*copy[:2], "--dest-creds", f"{PUSH_USER}:{password}", *copy[2:]]
        push = subprocess.run(with_creds, capture_output=True, text=True, check=False)
        pushed, why = (
            push.returncode == 0,
            push.stderr,
        )  # never let a failure print the command (it holds the credential)
        assert pushed, why
    finally:
        docker("rmi", local_name, check=False)

    # containerd on a cluster node fetches it by its upstream name, through certs.d (the mirror).
    ref = f"docker.io/library/dockyard-e2e:{tag}"
    fetch = docker(
        "exec",
        node,
        "ctr",
        "-n",
        "dockyard-e2e",
        "content",
        "fetch",
        "--hosts-dir",
        "/etc/containerd/certs.d",
        ref,
        check=False,
    )
    assert fetch.returncode == 0, fetch.stdout + fetch.stderr
    images = on(node, "ctr", "-n", "dockyard-e2e", "images", "ls", "-q")
    assert ref in images.split()
    # The layer it fetched holds exactly the file that was pushed.
    manifest_digest = docker(
        "exec", node, "sh", "-c", f"ctr -n dockyard-e2e images ls | awk '$1==\"{ref}\" {{print $3}}'"
    ).stdout.strip()
    manifest = json.loads(on(node, "ctr", "-n", "dockyard-e2e", "content", "get", manifest_digest))
    layer = manifest["layers"][0]["digest"]
    content = docker("exec", node, "sh", "-c", f"ctr -n dockyard-e2e content get {layer} | tar -xzO hello.txt").stdout
    assert content == payload
    # The requests reached the mirror under the upstream registry's namespace, over TLS: nginx terminates
    # TLS in front of the registry, so its access log has the node's address.
    log = on(mirror_host, "cat", "/var/log/nginx/access.log")
    assert re.search(
        rf"{re.escape(lab[node])} .*\"GET /v2/docker.io/library/dockyard-e2e/manifests/\S+\?ns=docker.io", log
    )
    # Nothing anywhere turns verification off.
    for host in (mirror_host, node):
        found = docker(
            "exec",
            host,
            "sh",
            "-c",
            "grep -rliE 'skip_verify|insecure|plain[-_]http' /etc/containerd /etc/docker 2>/dev/null || true",
        ).stdout.strip()
        assert found == "", f"{host}: {found}"
