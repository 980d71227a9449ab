"""The README's main job on real hosts: `invoke bootstrap --env local` on the AIR-GAPPED lab.

The lab's network has no route out (Docker's --internal) and its vendor artefacts are the
stand-ins of tests/standins, bundled from a fake internet on this machine (tests/standins/lab_feed.py)
as on a connected builder, then verified and loaded into the lab's mirror by the bootstrap. This
module proves: the bootstrap converges with the fake internet's hit log unchanged (zero egress), a
rerun changes nothing and seeds nothing, the tools answer over TLS from the internal CA, and an image
pushed into the mirror registry is pulled by containerd on a cluster node through the mirror."""

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
from dockyard.localhosts import feed
from dockyard.localhosts import hosts as local
from dockyard.localhosts.engine import DOCKER
from dockyard.mirror.credentials import PUSH_PASSWORD, PUSH_USER
from tests import cli_runner
from tests.standins import fake_internet

ROOT = Path(__file__).resolve().parents[2]
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
MIRROR, GITLAB, HARBOR, JENKINS, CONTROL, WORKER = (f"{local.PREFIX}{i}" for i in range(1, 7))
INTERNET = fake_internet.Layout(ROOT / ".dockyard" / feed.INTERNET)

pytestmark = pytest.mark.hosts


# A lab bootstrap takes about 4 min here; one that hangs fails the test with what each host was doing.
BOOTSTRAP_TIMEOUT_S = 1200


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return cli_runner.invoke(*args, timeout=BOOTSTRAP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else str(exc.stdout or "")
        pytest.fail(f"invoke {' '.join(args)}: no end after {BOOTSTRAP_TIMEOUT_S}s\n{out[-6000:]}\n{_hosts_now()}")


def _hosts_now() -> str:
    """Every lab host's processes and TCP sockets, and the OS mirror's log: why a run hangs."""
    names = docker("ps", "--format", "{{.Names}}", "--filter", f"label={local.LABEL}", check=False).stdout.split()
    parts = []
    for name in sorted(names):
        ps = docker("exec", name, "ps", "-eo", "pid,ppid,etime,stat,wchan:24,args", check=False).stdout
        ss = docker("exec", name, "ss", "-tnp", check=False).stdout
        parts.append(f"--- {name}\n{ps}{ss}")
    for mirror in docker(
        "ps", "--format", "{{.Names}}", "--filter", f"label={local.OS_MIRROR_LABEL}", check=False
    ).stdout.split():
        log = docker("exec", mirror, "tail", "-n", "40", "/var/log/apt-cacher-ng/apt-cacher.log", check=False).stdout
        parts.append(f"--- {mirror}: apt-cacher.log\n{log}")
    return "\n".join(parts)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check)


def on(host: str, *cmd: str) -> str:
    return docker("exec", host, *cmd).stdout


def kubectl_calls() -> list[list[str]]:
    """The stand-in kubectl's calls on the first control plane (Calico's diff, apply, rollout status)."""
    log = on(CONTROL, "cat", "/var/log/dockyard-standin/calls.jsonl")
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    return [e["argv"] for e in entries if e["tool"] == "kubectl" and "version" not in e["argv"]]


def recap(stdout: str) -> dict[str, tuple[int, int, int, int]]:
    """Every host's ok/changed/unreachable/failed, summed over the bootstrap's playbook runs."""
    found: dict[str, tuple[int, int, int, int]] = {}
    for m in RECAP.finditer(stdout):
        old = found.get(m[1], (0, 0, 0, 0))
        found[m[1]] = tuple(a + int(b) for a, b in zip(old, m.groups()[1:], strict=True))  # type: ignore[assignment]
    return found


@pytest.fixture(scope="module")
def lab(docker_engine: Path, test_image: str) -> Iterator[dict[str, str]]:
    """The air-gapped lab, bootstrapped once for this module; removed afterwards unless it was up."""
    existed = bool(docker("ps", "-aq", "--filter", f"label={local.LABEL}").stdout.strip())
    up = invoke("hosts", "up")
    assert up.returncode == 0, up.stdout + up.stderr
    # The builder's side (a connected machine): stand-ins built and bundled through the fake internet.
    feed.prepare(ROOT, say=lambda _line: None)
    hits_before = INTERNET.hit_count()
    fresh = not (ROOT / "inventories" / "local" / "group_vars" / "all" / "vault.yml").exists()  # as in CI
    first = invoke("bootstrap", "--env", "local")
    hits = INTERNET.hits_since(hits_before)
    addresses = {
        line.split()[0]: line.split()[1]
        for line in invoke("hosts", "status").stdout.splitlines()
        if line.startswith(local.PREFIX)
    }
    yield {"first_run": first.stdout + first.stderr, "first_rc": str(first.returncode), "hits": json.dumps(hits),
           "fresh_vault": str(fresh), **addresses}  # fmt: skip
    if not existed:  # the engine stays: the session's docker_engine fixture stops it if it started it
        local.down(ROOT, docker_engine, say=lambda _line: None, stop_engine=False)


def test_bootstrap_converges_air_gapped_and_rerun_changes_nothing(lab: dict[str, str]) -> None:
    out = lab["first_run"]
    assert lab["first_rc"] == "0", out[-8000:]
    # Done: every phase, nothing left out.
    assert "  not done: nothing" in out and "bootstrap COMPLETE: env local" in out, out[-4000:]
    phases = ("common", "internal_ca", "mirror", "containerd", "kubernetes", "cni", "ingress", "tools", "argocd")
    for phase in phases:
        assert re.search(rf"^    {phase}\s+\d+\.\ds", out, re.M), f"phase {phase} did not run"
    assert "preflight OK: 6 host(s) passed every check" in out
    assert "bundle load OK:" in out
    first = recap(out)
    assert {MIRROR, GITLAB, HARBOR, JENKINS, CONTROL, WORKER} <= set(first)
    assert all(failed == 0 and unreachable == 0 for _ok, _changed, unreachable, failed in first.values())
    calls_before = kubectl_calls()
    assert any("apply" in argv for argv in calls_before), "the cni phase never applied Calico"
    again = invoke("bootstrap", "--env", "local")
    rerun = kubectl_calls()[len(calls_before) :]
    assert [next(w for w in ("diff", "apply", "rollout") if w in a) for a in rerun] == ["diff", "rollout"], rerun
    assert again.returncode == 0, again.stdout[-6000:] + again.stderr
    assert "bootstrap COMPLETE: env local" in again.stdout
    assert "bundle load OK: nothing transferred, the mirror already holds this bundle" in again.stdout
    changed = {host: r[1] for host, r in recap(again.stdout).items() if r[1] != 0}
    assert not changed, f"rerun changed something: {changed}\n{again.stdout[-6000:]}"
    seeded = re.search(r"^seed: (\d+) create, (\d+) update, (\d+) delete, (\d+) noop", again.stdout, re.M)
    assert seeded and seeded.groups()[:3] == ("0", "0", "0") and int(seeded[4]) > 0, again.stdout[-3000:]
    assert "skipped" not in again.stdout[seeded.start() :].splitlines()[0], again.stdout[-3000:]


def test_argocd_phase_runs_on_the_cluster_the_lab_made(lab: dict[str, str]) -> None:
    # Helm (the real binary) installed the argo-cd chart through the kubeconfig the kubernetes phase
    # wrote, into the stand-in cluster's API; the phase applied the environment's objects and wrote the
    # build accounts' kubeconfigs, which seed then gave Jenkins. The second bootstrap changed nothing.
    out = lab["first_run"]
    assert re.search(r"argocd: env local: chart argo-cd \S+ installed", out), out[-6000:]
    assert re.search(r"ingress: env local: chart traefik \S+ installed", out), out[-6000:]
    # (Ansible's YAML output doubles the quote in "Jenkins'")
    assert re.search(r"build kubeconfig of Jenkins'{1,2} kubernetes cloud -> vault", out), out[-6000:]
    assert "argocd: SKIPPED" not in out
    if lab["fresh_vault"] == "True":  # a site's first bootstrap: no robot secret, no deploy key yet
        # the phase kept the Secrets filled from seed's credentials, and ran again once seed had them
        assert re.search(r"^argocd: applying again after seed: [1-9]\d* object", out, re.M), out[-6000:]
        again = out[out.index("argocd: applying again after seed") :]
        assert re.search(r"create Secret shop/harbor-pull", again), again[-4000:]


def test_zero_egress(lab: dict[str, str]) -> None:
    # Nothing asked the (fake) internet for anything during the bootstrap: every artefact came from the mirror.
    assert json.loads(lab["hits"]) == []
    # The lab's network has no route out, and the hosts have no other network.
    network = json.loads(docker("network", "inspect", "dockyard-local").stdout)[0]
    assert network["Internal"] is True
    for host in (MIRROR, CONTROL):
        nets = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", host).stdout)
        assert set(nets) == {"dockyard-local"}, nets
    # A name outside the lab does not resolve on a host (no packet leaves the machine to try).
    probe = docker("exec", CONTROL, "timeout", "40", "getent", "hosts", "deb.debian.org", check=False)
    assert probe.returncode != 0, probe.stdout


def test_plan_shows_nothing_to_change(lab: dict[str, str]) -> None:
    proc = invoke("plan", "--env", "local")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "would change: nothing" in proc.stdout
    assert f"{CONTROL}: ok=" in proc.stdout


def test_tools_answer_over_tls_from_the_internal_ca(lab: dict[str, str]) -> None:
    ca = ROOT / ".dockyard" / "pki" / "ca.crt"
    for host, name, path in ((GITLAB, "gitlab", "/-/readiness?all=1"), (HARBOR, "harbor", "/api/v2.0/health"),
                             (JENKINS, "jenkins", "/login")):  # fmt: skip
        fqdn = f"{name}.{local.DOMAIN}"
        proc = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}", "--cacert", str(ca),
             "--resolve", f"{fqdn}:443:{lab[host]}", f"https://{fqdn}{path}"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        # GitLab answers its health endpoints only to the monitoring allow-list (the hosts), else 404.
        wanted = "404 0" if name == "gitlab" else "200 0"
        assert proc.returncode == 0 and proc.stdout == wanted, f"{fqdn}{path}: {proc.stdout} {proc.stderr}"


def test_mirror_pull_with_verified_tls(lab: dict[str, str], tmp_path: Path) -> None:
    mirror_host, node = MIRROR, CONTROL
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
