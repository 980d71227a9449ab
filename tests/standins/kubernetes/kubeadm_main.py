"""STAND-IN for kubeadm (Dockyard tests only; never part of the product). Runs on a test host as
/usr/local/bin/kubeadm (a zipapp: this file, standin_lib, the config schemas, pure-Python PyYAML).

* knows its own version (baked in by build_kubeadm(out_path, version));
* accepts only the subcommands and flags the kubeadm CLI reference (v1.35) documents (cli.json);
* validates every configuration it is given against the strict schemas built from the kubeadm,
  kubelet and kube-proxy config-API references (schemas.json; unknown field = failure);
* records every call (standin_lib.record, /var/log/dockyard-standin/calls.jsonl);
* leaves the node as kubeadm does: a CA and the API server certificate (with the SANs kubeadm puts in
  it, made with openssl), admin.conf, super-admin.conf, kubelet.conf, /var/lib/kubelet/config.yaml
  and kubeadm-flags.env, the static pod manifests;
* prints what the role parses: `token create --print-join-command` the join command with the real
  sha256 of the CA's public key, `init phase upload-certs --upload-certs` a fresh certificate key.

The cluster's API: `init` marks this node as the one whose kubelet serves the API test double (the
stand-in kubelet runs it from the kube-apiserver static pod, tests/standins/kubernetes/kubelet_main.py),
restarts the kubelet as kubeadm's kubelet-start phase does, waits for /readyz over TLS with the CA it
made, then writes what kubeadm writes there: the kube-public/cluster-info ConfigMap (the CA and the
controlPlaneEndpoint), kube-system/kubeadm-config, its Node. `token create` stores the bootstrap token
as the `bootstrap-token-<id>` Secret the API authenticates; `upload-certs` stores the shared
certificates in the kubeadm-certs Secret keyed by the new certificate key. `join` does discovery as
kubeadm does (cluster-info fetched without trust, its CA checked against caCertHashes, then only
verified TLS), authenticates with the bootstrap token, and registers its Node; a control plane also
takes the shared certificates (the certificate key must match the latest upload) and issues its own
API server certificate. Differences from kubeadm, on purpose: kubeadm-certs holds the files
base64-encoded with the sha256 of the certificate key (kubeadm encrypts them with it, AES-GCM); a
worker's kubelet.conf authenticates with the bootstrap token (kubeadm's TLS bootstrap would get it a
client certificate); one API per cluster (joined control planes run no API server).

Certificates: besides the cluster CA, front-proxy CA and etcd CA, `init` and a control plane's
`join` issue the etcd certificates kubeadm issues from etcd/ca: etcd/server, etcd/peer,
etcd/healthcheck-client and apiserver-etcd-client (what the stand-in etcdctl verifies).

Upgrades: `upgrade apply` (first control plane) checks, as kubeadm does, that the target is not newer
than this kubeadm, at most one minor above the cluster's kubernetesVersion (kubeadm-config, read
through the API with admin.conf) and not lower; needs --yes (no terminal to confirm); its preflight
refuses while a control-plane Node is not Ready (ControlPlaneNodesReady). It backs up the static pod
manifests to /etc/kubernetes/tmp/kubeadm-backup-manifests-<date>-<time>/, writes them with the new
image tag, updates kubeadm-config and records `event="upgraded", kind="apply"`. Applying the same
version again succeeds and changes nothing. `upgrade node` reads kubeadm-config (admin.conf on a
control plane, kubelet.conf on a worker), moves a control plane's manifests to that version, backs up
the kubelet config and records `event="upgraded", kind="node"`. No etcd data is migrated (the API
double keeps its objects in one JSON file).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import secrets
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import standin_lib as s
import yaml
from kube_client import Api, from_kubeconfig

ROOT = Path(os.environ.get("DOCKYARD_STANDIN_ROOT", "/"))  # tests of the stand-in itself run in a temp root
KUBEADM_VERSION = "v" + "__VERSION__".lstrip("v")  # baked in by build_kubeadm(out_path, version)


def _data(name: str) -> Any:
    with zipfile.ZipFile(sys.argv[0]) as z:
        return json.loads(z.read(name))


def host(path: str) -> Path:
    return ROOT / path.lstrip("/")


# ------------------------------------------------------------------ strict validation (stdlib only)


def problems(doc: Any, schema: dict[str, Any], defs: dict[str, Any], where: str = "") -> list[str]:
    if "$ref" in schema:
        return problems(doc, defs[schema["$ref"].rsplit("/", 1)[-1]], defs, where)
    out: list[str] = []
    if "not" in schema and schema["not"] == {}:
        return [f"{where}: may not be set"]
    if "const" in schema and doc != schema["const"]:
        return [f"{where}: must be {schema['const']!r}"]
    if "enum" in schema and doc not in schema["enum"]:
        return [f"{where}: {doc!r} is not one of {schema['enum']}"]
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    }
    if kinds and not any(checks[k](doc) for k in kinds):
        return [f"{where}: expected {'/'.join(kinds)}"]
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in doc:
                out.append(f"{where}.{key}: missing")
        for key, value in doc.items():
            if key in props:
                out += problems(value, props[key], defs, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{where}.{key}: unknown field")
            elif isinstance(schema.get("additionalProperties"), dict):
                out += problems(value, schema["additionalProperties"], defs, f"{where}.{key}")
    if isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            out += problems(item, schema["items"], defs, f"{where}[{i}]")
    return out


def load_config(path: str) -> dict[str, dict[str, Any]]:
    """The documents of a kubeadm --config file by kind, each validated strictly."""
    schemas = _data("schemas.json")
    docs: dict[str, dict[str, Any]] = {}
    try:
        loaded = [d for d in yaml.safe_load_all(host(path).read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        s.fail(f"error: unable to read config from {path!r}: {exc}")
    for doc in loaded:
        key = f"{doc.get('apiVersion')}/{doc.get('kind')}"
        if key not in schemas:
            s.fail(f"error: {path}: unknown or unsupported document {key}")
        found = problems(doc, schemas[key], schemas[key]["$defs"], doc["kind"])
        if found:
            s.fail(f"error: {path}: strict decoding error: " + "; ".join(found))
        docs[doc["kind"]] = doc
    return docs


# ------------------------------------------------------------------ PKI and kubeconfigs (openssl)


def openssl(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True).stdout


def make_ca(cert: Path, key: Path, cn: str) -> None:
    cert.parent.mkdir(parents=True, exist_ok=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        "3650",
        "-subj",
        f"/CN={cn}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )
    key.chmod(0o600)


def issue(cert: Path, key: Path, ca: Path, subject: str, *, sans: list[str] = (), usage: str = "serverAuth") -> None:
    csr = openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-subj", subject)
    key.chmod(0o600)
    ext = cert.with_suffix(".ext")
    lines = [f"extendedKeyUsage={usage}", "keyUsage=critical,digitalSignature,keyEncipherment"]
    if sans:
        lines.append("subjectAltName=" + ",".join(_san(x) for x in sans))
    ext.write_text("\n".join(lines) + "\n")
    openssl(
        "x509",
        "-req",
        "-CA",
        str(ca),
        "-CAkey",
        str(ca.with_suffix(".key")),
        "-set_serial",  # a random serial, as kubeadm's Go PKI makes (no ca.srl beside the CA)
        str(secrets.randbits(127) + 1),
        "-days",
        "365",
        "-out",
        str(cert),
        "-extfile",
        str(ext),
        stdin=csr,
    )
    ext.unlink()


def _san(value: str) -> str:
    try:
        ipaddress.ip_address(value)
        return f"IP:{value}"
    except ValueError:
        return f"DNS:{value}"


def ca_hash() -> str:
    pub = openssl("x509", "-pubkey", "-noout", "-in", str(host("/etc/kubernetes/pki/ca.crt")))
    der = openssl("pkey", "-pubin", "-outform", "DER", stdin=pub)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def kubeconfig(path: Path, server: str, cluster: str, user: str, groups: str = "") -> None:
    pki = host("/etc/kubernetes/pki")
    tmp_cert, tmp_key = path.with_suffix(".crt.tmp"), path.with_suffix(".key.tmp")
    issue(tmp_cert, tmp_key, pki / "ca.crt", f"/CN={user}" + (f"/O={groups}" if groups else ""), usage="clientAuth")
    b64 = lambda p: base64.b64encode(p.read_bytes()).decode()  # noqa: E731
    conf = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority-data": b64(pki / "ca.crt")}}
        ],
        "users": [{"name": user, "user": {"client-certificate-data": b64(tmp_cert), "client-key-data": b64(tmp_key)}}],
        "contexts": [{"name": f"{user}@{cluster}", "context": {"cluster": cluster, "user": user}}],
        "current-context": f"{user}@{cluster}",
    }
    tmp_cert.unlink()
    tmp_key.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(conf))
    path.chmod(0o600)


# ------------------------------------------------------------------ the cluster's API (stdlib client)

NOT_READY = (
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:Network plugin returns error: cni plugin not initialized"
)


def admin_api() -> Api:
    """As kubeadm on the first control plane: admin.conf's identity, the local API server."""
    state = load_state()
    conf = yaml.safe_load(host("/etc/kubernetes/admin.conf").read_text())
    user = conf["users"][0]["user"]
    pair = (base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"]))
    ca = base64.b64decode(conf["clusters"][0]["cluster"]["certificate-authority-data"])
    return Api(state["local_server"], ca, cert=pair)


def poll(api: Api, path: str, timeout_s: float, failure: str) -> Any:
    """GET ``path`` until it answers 200 (kubeadm's waits), or fail with ``failure`` and the last problem."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            code, out = api.call("GET", path)
            if code == 200:
                return out
            problem = f"{code} {out}"
        except OSError as exc:
            problem = str(exc)
        if time.monotonic() > deadline:
            s.fail(f"{failure}: {problem}")
        time.sleep(1)


def restart_kubelet() -> None:
    """kubeadm's kubelet-start phase: (re)start the kubelet service (a real host only)."""
    if str(ROOT) == "/":
        subprocess.run(["systemctl", "restart", "kubelet"], check=True)


def node_object(name: str, registration: dict[str, Any], version: str, address: str, *, control_plane: bool) -> dict:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    spec: dict[str, Any] = {}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        spec["taints"] = registration.get(
            "taints", [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        )
    status: dict[str, Any] = {
        "nodeInfo": node_info(version),
        "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": NOT_READY}],
    }
    if address:
        status["addresses"] = [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": status,
    }


def node_info(version: str) -> dict[str, str]:
    """What the kubelet reports about its host (every field of NodeSystemInfo is required)."""
    machine = host("/etc/machine-id")
    machine_id = machine.read_text().strip() if machine.exists() else secrets.token_hex(16)
    return {
        "architecture": "amd64",
        "bootID": secrets.token_hex(16),
        "containerRuntimeVersion": "containerd://stand-in",
        "kernelVersion": os.uname().release,
        "kubeProxyVersion": version,
        "kubeletVersion": version,
        "machineID": machine_id,
        "operatingSystem": "linux",
        "osImage": "Debian GNU/Linux 12 (bookworm)",
        "systemUUID": machine_id,
    }


def duration_s(text: str) -> int:
    """A Go duration as kubeadm's --ttl takes it (24h0m0s, 1h, 30m)."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not parts or not text:
        s.fail(f'error: invalid argument "{text}" for "--ttl" flag: time: invalid duration "{text}"')
    hours, minutes, seconds = (int(x or 0) for x in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def static_pods(manifests: Path, cluster: dict[str, Any]) -> None:
    repository = cluster.get("imageRepository", "registry.k8s.io")
    manifests.mkdir(parents=True, exist_ok=True)
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": component, "namespace": "kube-system"},
            "spec": {
                "containers": [
                    {"name": component, "image": f"{repository}/{component}:{cluster.get('kubernetesVersion')}"}
                ]
            },
        }
        (manifests / f"{component}.yaml").write_text(yaml.safe_dump(pod))


def preflight_manifests(registration: dict[str, Any]) -> None:
    manifests = host("/etc/kubernetes/manifests")
    ignored = registration.get("ignorePreflightErrors", [])
    if manifests.is_dir() and any(manifests.iterdir()) and "DirAvailable--etc-kubernetes-manifests" not in ignored:
        s.fail("[preflight] [ERROR DirAvailable--etc-kubernetes-manifests]: /etc/kubernetes/manifests is not empty")


# kubeadm waits this long for discovery (timeouts.discovery, default 5m); the tests need less.
DISCOVERY_TIMEOUT_S = 120.0
SHARED_CERTS = (
    "ca.crt",
    "ca.key",
    "sa.key",
    "sa.pub",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
    "etcd/ca.crt",
    "etcd/ca.key",
)


# ------------------------------------------------------------------ subcommands


def init(cmd: s.Command) -> None:
    if not cmd.flag("--config"):
        s.unsupported("kubeadm init without --config (Dockyard always passes one)")
    docs = load_config(cmd.flag("--config"))
    init_cfg, cluster = docs.get("InitConfiguration", {}), docs.get("ClusterConfiguration")
    if cluster is None:
        s.fail("error: no ClusterConfiguration in the config")
    if host("/etc/kubernetes/admin.conf").exists() or host("/etc/kubernetes/manifests/kube-apiserver.yaml").exists():
        s.fail(
            "[preflight] Some fatal errors occurred:\n"
            "\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: exists"
        )
    registration = init_cfg.get("nodeRegistration", {})
    preflight_manifests(registration)
    name = registration.get("name") or os.uname().nodename
    endpoint = init_cfg.get("localAPIEndpoint", {})
    pki = host(cluster.get("certificatesDir", "/etc/kubernetes/pki"))
    make_ca(pki / "ca.crt", pki / "ca.key", "kubernetes")
    make_ca(pki / "front-proxy-ca.crt", pki / "front-proxy-ca.key", "front-proxy-ca")
    make_ca(pki / "etcd" / "ca.crt", pki / "etcd" / "ca.key", "etcd-ca")
    apiserver_cert(cluster, init_cfg)
    etcd_certs(pki, name, endpoint.get("advertiseAddress", "127.0.0.1"))
    (pki / "sa.key").write_bytes(openssl("genpkey", "-algorithm", "RSA"))
    (pki / "sa.key").chmod(0o600)
    (pki / "sa.pub").write_bytes(openssl("pkey", "-in", str(pki / "sa.key"), "-pubout"))
    server = f"https://{cluster.get('controlPlaneEndpoint') or endpoint.get('advertiseAddress')}"
    cluster_name = cluster.get("clusterName", "kubernetes")
    etc = host("/etc/kubernetes")
    kubeconfig(etc / "admin.conf", server, cluster_name, "kubernetes-admin", "kubeadm:cluster-admins")
    kubeconfig(etc / "super-admin.conf", server, cluster_name, "kubernetes-super-admin", "system:masters")
    kubeconfig(etc / "kubelet.conf", server, cluster_name, f"system:node:{name}", "system:nodes")
    static_pods(host("/etc/kubernetes/manifests"), cluster)
    kubelet_files(docs.get("KubeletConfiguration", {}), registration)
    address = endpoint.get("advertiseAddress", "127.0.0.1")
    port = int(endpoint.get("bindPort", 6443))
    version = str(cluster.get("kubernetesVersion"))
    save_state(
        {
            "tokens": [],
            "certificate_key": "",
            "serves_api": True,
            "bind_port": port,
            "local_server": f"https://{address}:{port}",
            "version": version,
            "certificates_dir": str(cluster.get("certificatesDir", "/etc/kubernetes/pki")),
        }
    )
    print("[kubelet-start] Starting the kubelet")
    restart_kubelet()
    api = admin_api()
    poll(api, "/readyz", 120, f"[wait-control-plane] the API server at {api.server} is not ready after 120s")
    print(f"[wait-control-plane] the API server at {api.server} is ready")
    ca = (pki / "ca.crt").read_bytes()
    info = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "", "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca).decode()}}
        ],
    }
    for namespace, config_map, data in (
        ("kube-public", "cluster-info", {"kubeconfig": yaml.safe_dump(info)}),
        ("kube-system", "kubeadm-config", {"ClusterConfiguration": yaml.safe_dump(cluster)}),
    ):
        api.apply(
            f"/api/v1/namespaces/{namespace}/configmaps/{config_map}",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": config_map, "namespace": namespace},
                "data": data,
            },
        )
    api.apply(f"/api/v1/nodes/{name}", node_object(name, registration, version, address, control_plane=True), "kubelet")
    if cmd.flag("--upload-certs"):
        store_certs(api, secrets.token_hex(32))
    print("Your Kubernetes control-plane has initialized successfully!")


def store_certs(api: Api, key: str) -> None:
    """The kubeadm-certs Secret with the shared certificates, for this certificate key only."""
    pki = host(load_state()["certificates_dir"])
    data = {f.replace("/", "-"): base64.b64encode((pki / f).read_bytes()).decode() for f in SHARED_CERTS}
    api.apply(
        "/api/v1/namespaces/kube-system/secrets/kubeadm-certs",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "kubeadm-certs",
                "namespace": "kube-system",
                "annotations": {"dockyard.test/certificate-key-sha256": hashlib.sha256(key.encode()).hexdigest()},
            },
            "data": data,
        },
    )
    state = load_state()
    state["certificate_key"] = key
    save_state(state)


def apiserver_cert(cluster: dict[str, Any], init_cfg: dict[str, Any]) -> None:
    pki = host(cluster.get("certificatesDir", "/etc/kubernetes/pki"))
    name = init_cfg.get("nodeRegistration", {}).get("name") or os.uname().nodename
    service_ip = str(
        next(ipaddress.ip_network(cluster.get("networking", {}).get("serviceSubnet", "10.96.0.0/12")).hosts())
    )
    domain = cluster.get("networking", {}).get("dnsDomain", "cluster.local")
    sans = [
        name,
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{domain}",
        service_ip,
        init_cfg.get("localAPIEndpoint", {}).get("advertiseAddress", "127.0.0.1"),
    ]
    endpoint = cluster.get("controlPlaneEndpoint", "")
    if endpoint:
        sans.append(endpoint.rsplit(":", 1)[0])
    sans += cluster.get("apiServer", {}).get("certSANs", [])
    issue(
        pki / "apiserver.crt",
        pki / "apiserver.key",
        pki / "ca.crt",
        "/CN=kube-apiserver",
        sans=list(dict.fromkeys(sans)),
    )


def etcd_certs(pki: Path, name: str, address: str) -> None:
    """The etcd certificates kubeadm's certs phase issues from etcd/ca (kubeadm's names and subjects):
    etcd/server and etcd/peer (CN = node name, SANs name, localhost, the address, 127.0.0.1, ::1),
    etcd/healthcheck-client (what etcdctl health checks use) and apiserver-etcd-client."""
    ca = pki / "etcd" / "ca.crt"
    sans = list(dict.fromkeys([name, "localhost", address, "127.0.0.1", "::1"]))
    issue(pki / "etcd/server.crt", pki / "etcd/server.key", ca, f"/CN={name}", sans=sans, usage="serverAuth,clientAuth")
    issue(pki / "etcd/peer.crt", pki / "etcd/peer.key", ca, f"/CN={name}", sans=sans, usage="serverAuth,clientAuth")
    issue(
        pki / "etcd/healthcheck-client.crt",
        pki / "etcd/healthcheck-client.key",
        ca,
        "/CN=kube-etcd-healthcheck-client",
        usage="clientAuth",
    )
    issue(
        pki / "apiserver-etcd-client.crt",
        pki / "apiserver-etcd-client.key",
        ca,
        "/CN=kube-apiserver-etcd-client",
        usage="clientAuth",
    )


def kubelet_files(kubelet: dict[str, Any], registration: dict[str, Any]) -> None:
    lib = host("/var/lib/kubelet")
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "config.yaml").write_text(
        yaml.safe_dump(kubelet or {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"})
    )
    flags = f"--container-runtime-endpoint={registration.get('criSocket', 'unix:///run/containerd/containerd.sock')}"
    (lib / "kubeadm-flags.env").write_text(f'KUBELET_KUBEADM_ARGS="{flags}"\n')


def state_file() -> Path:
    return host("/var/lib/dockyard-standin/kubeadm-state.json")


def load_state() -> dict[str, Any]:
    if not state_file().exists():
        s.fail("error: this node is not an initialised control plane (no admin.conf)")
    return json.loads(state_file().read_text())


def save_state(state: dict[str, Any]) -> None:
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps(state))


def token_create(cmd: s.Command) -> None:
    state = load_state()
    token = cmd.args[0] if cmd.args else f"{secrets.token_hex(3)}.{secrets.token_hex(8)}"
    ttl = duration_s(cmd.flag("--ttl", "24h0m0s"))
    token_id, _, token_secret = token.partition(".")
    plain = {
        "token-id": token_id,
        "token-secret": token_secret,
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
    }
    if ttl:
        plain["expiration"] = (datetime.now(UTC) + timedelta(seconds=ttl)).strftime("%Y-%m-%dT%H:%M:%SZ")
    admin_api().apply(
        f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{token_id}",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in plain.items()},
        },
    )
    state = load_state()
    state["tokens"].append({"token_id": token_id, "ttl": cmd.flag("--ttl", "24h0m0s")})
    save_state(state)
    if not cmd.flag("--print-join-command"):
        print(token)
        return
    admin = yaml.safe_load(host("/etc/kubernetes/admin.conf").read_text())
    endpoint = admin["clusters"][0]["cluster"]["server"].removeprefix("https://")
    line = f"kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {ca_hash()} "
    if cmd.flag("--certificate-key"):
        line += f"--control-plane --certificate-key {cmd.flag('--certificate-key')}"
    print(line)


def upload_certs(cmd: s.Command) -> None:
    if not cmd.flag("--upload-certs"):
        s.fail("error: upload-certs needs --upload-certs to upload anything")
    key = cmd.flag("--certificate-key") or secrets.token_hex(32)
    store_certs(admin_api(), key)
    print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    print("[upload-certs] Using certificate key:")
    print(key)


def certs_apiserver(cmd: s.Command) -> None:
    docs = load_config(cmd.flag("--config")) if cmd.flag("--config") else {}
    cluster = docs.get("ClusterConfiguration", {})
    pki = host(cluster.get("certificatesDir", "/etc/kubernetes/pki"))
    if (pki / "apiserver.crt").exists():
        print('[certs] Using the existing "apiserver" certificate and key')
        return
    apiserver_cert(cluster, docs.get("InitConfiguration", {}))
    print('[certs] Generating "apiserver" certificate and key')


def join(cmd: s.Command) -> None:
    if not cmd.flag("--config"):
        s.unsupported("kubeadm join without --config (Dockyard always passes one)")
    docs = load_config(cmd.flag("--config"))
    join_cfg = docs.get("JoinConfiguration")
    if join_cfg is None:
        s.fail("error: no JoinConfiguration in the config")
    token = join_cfg["discovery"].get("bootstrapToken") or {}
    if token.get("unsafeSkipCAVerification") or not token.get("caCertHashes"):
        s.fail("error: Dockyard's joins pin the CA: caCertHashes is required, unsafeSkipCAVerification refused")
    if host("/etc/kubernetes/kubelet.conf").exists():
        s.fail(
            "[preflight] [ERROR FileAvailable--etc-kubernetes-kubelet.conf]: "
            "/etc/kubernetes/kubelet.conf already exists"
        )
    registration = join_cfg.get("nodeRegistration", {})
    control_plane = join_cfg.get("controlPlane")
    if control_plane is not None:
        preflight_manifests(registration)
    name = registration.get("name") or os.uname().nodename
    endpoint = token["apiServerEndpoint"]
    ca = discover(endpoint, token["caCertHashes"], DISCOVERY_TIMEOUT_S)
    api = Api(f"https://{endpoint}", ca, token=token["token"])
    cluster = yaml.safe_load(
        api.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")["data"]["ClusterConfiguration"]
    )
    pki = host(cluster.get("certificatesDir", "/etc/kubernetes/pki"))
    pki.mkdir(parents=True, exist_ok=True)
    (pki / "ca.crt").write_bytes(ca)
    server = f"https://{cluster.get('controlPlaneEndpoint') or endpoint}"
    cluster_name = cluster.get("clusterName", "kubernetes")
    address = ""
    if control_plane is not None:
        certs = api.get("/api/v1/namespaces/kube-system/secrets/kubeadm-certs")
        wanted = (certs["metadata"].get("annotations") or {}).get("dockyard.test/certificate-key-sha256")
        if hashlib.sha256(str(control_plane.get("certificateKey", "")).encode()).hexdigest() != wanted:
            s.fail(
                "error execution phase control-plane-prepare/download-certs: error downloading certs: "
                "error decoding certificate key: the certificate key is wrong or the Secret has expired"
            )
        for f in SHARED_CERTS:
            path = pki / f
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base64.b64decode(certs["data"][f.replace("/", "-")]))
            if f.endswith(".key"):
                path.chmod(0o600)
        local = control_plane.get("localAPIEndpoint", {})
        address = local.get("advertiseAddress", "")
        apiserver_cert(cluster, {"nodeRegistration": registration, "localAPIEndpoint": local})
        etcd_certs(pki, name, address or "127.0.0.1")
        etc = host("/etc/kubernetes")
        kubeconfig(etc / "admin.conf", server, cluster_name, "kubernetes-admin", "kubeadm:cluster-admins")
        kubeconfig(etc / "kubelet.conf", server, cluster_name, f"system:node:{name}", "system:nodes")
        static_pods(host("/etc/kubernetes/manifests"), cluster)
    else:
        conf = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca).decode()},
                }
            ],
            "users": [{"name": f"system:node:{name}", "user": {"token": token["token"]}}],
            "contexts": [{"name": "default", "context": {"cluster": cluster_name, "user": f"system:node:{name}"}}],
            "current-context": "default",
        }
        path = host("/etc/kubernetes/kubelet.conf")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(conf))
        path.chmod(0o600)
    version = str(cluster.get("kubernetesVersion"))
    api.apply(
        f"/api/v1/nodes/{name}",
        node_object(name, registration, version, address, control_plane=control_plane is not None),
        "kubelet",
    )
    kubelet_files({}, registration)
    restart_kubelet()
    key = str((control_plane or {}).get("certificateKey", ""))
    s.record(  # what the tests check the join by: one event line after the call line parse() wrote
        "kubeadm-standin",
        ["join"],
        event="joined",
        node=name,
        control_plane=control_plane is not None,
        ca_pinned=bool(token["caCertHashes"]) and not token.get("unsafeSkipCAVerification"),
        certificate_key_sha256=hashlib.sha256(key.encode()).hexdigest() if key else "",
    )
    print("This node has joined the cluster")


def discover(endpoint: str, pins: list[str], timeout_s: float) -> bytes:
    """Token discovery: cluster-info fetched without trust, its CA accepted only if pinned."""
    out = poll(
        Api(f"https://{endpoint}", None),
        "/api/v1/namespaces/kube-public/configmaps/cluster-info",
        timeout_s,
        "error execution phase preflight: couldn't validate the identity of the API Server",
    )
    info = yaml.safe_load(out["data"]["kubeconfig"])
    ca = base64.b64decode(info["clusters"][0]["cluster"]["certificate-authority-data"])
    pub = openssl("x509", "-pubkey", "-noout", stdin=ca)
    got = "sha256:" + hashlib.sha256(openssl("pkey", "-pubin", "-outform", "DER", stdin=pub)).hexdigest()
    if got not in pins:
        s.fail(
            "error execution phase preflight: cluster CA found in cluster-info ConfigMap is invalid: "
            f'none of the public keys "{got}" are pinned'
        )
    return ca


def reset(cmd: s.Command) -> None:
    if not cmd.flag("--force"):
        s.fail("[reset] Are you sure you want to proceed? [y/N]: aborted (no terminal)")
    files = [
        "/etc/kubernetes/admin.conf",
        "/etc/kubernetes/super-admin.conf",
        "/etc/kubernetes/kubelet.conf",
        "/var/lib/kubelet/config.yaml",
        "/var/lib/kubelet/kubeadm-flags.env",
    ]
    for path in [*(host(f) for f in files), state_file(), host("/var/lib/dockyard-standin/kube-api.json")]:
        path.unlink(missing_ok=True)
    for folder in ("/etc/kubernetes/manifests", "/etc/kubernetes/pki"):
        for path in sorted(host(folder).rglob("*"), reverse=True) if host(folder).exists() else []:
            path.rmdir() if path.is_dir() else path.unlink()
    print("[reset] The reset process does not clean CNI configuration.")


# ------------------------------------------------------------------ upgrade apply / upgrade node

COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")


def version_tuple(text: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", str(text))
    if not match:
        s.fail(f'error: unable to parse version "{text}": expected v<major>.<minor>.<patch>')
    return int(match[1]), int(match[2]), int(match[3])


def kubeconfig_api(path: str) -> Api:
    """A client as kubeadm builds one from a kubeconfig: its server, CA, client certificate or token."""
    conf_path = host(path)
    if not conf_path.exists():
        s.fail(f'[preflight] couldn\'t create a Kubernetes client from file "{path}": no such file or directory')
    return from_kubeconfig(yaml.safe_load(conf_path.read_text()))


def node_name_of(path: str) -> str:
    """The node's name, as its kubelet.conf's user says it (system:node:<name>)."""
    conf_path = host(path)
    if conf_path.exists():
        user = yaml.safe_load(conf_path.read_text())["users"][0]["name"]
        if user.startswith("system:node:"):
            return user.removeprefix("system:node:")
    return os.uname().nodename


def cluster_configuration(api: Api) -> dict[str, Any]:
    print('[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    found = api.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
    return yaml.safe_load(found["data"]["ClusterConfiguration"])


def upgrade_config(cmd: s.Command, section: str) -> dict[str, Any]:
    """The UpgradeConfiguration's ``apply`` or ``node`` section (strictly validated); empty without --config."""
    if not cmd.flag("--config"):
        return {}
    docs = load_config(cmd.flag("--config"))
    if "UpgradeConfiguration" not in docs:
        s.fail(f"error: {cmd.flag('--config')}: no UpgradeConfiguration in the config")
    part = docs["UpgradeConfiguration"].get(section) or {}
    if part.get("dryRun") or cmd.flag("--dry-run"):
        s.unsupported(f"kubeadm upgrade {section} dry run (Dockyard's roles do not ask for one)")
    return part


def manifest_tag(component: str) -> str:
    path = host(f"/etc/kubernetes/manifests/{component}.yaml")
    if not path.exists():
        return ""
    image = yaml.safe_load(path.read_text())["spec"]["containers"][0]["image"]
    return image.rsplit(":", 1)[-1]


def upgrade_manifests(version: str) -> bool:
    """Back the static pod manifests up (/etc/kubernetes/tmp/kubeadm-backup-manifests-<date>-<time>)
    and write them with ``version``'s image tag; False (nothing touched) when they have it already."""
    manifests = host("/etc/kubernetes/manifests")
    if all(manifest_tag(c) == version for c in COMPONENTS if (manifests / f"{c}.yaml").exists()):
        print(f"[upgrade/staticpods] The static Pod manifests are already at {version}; nothing to write")
        return False
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    backup = host(f"/etc/kubernetes/tmp/kubeadm-backup-manifests-{stamp}")
    backup.mkdir(parents=True, exist_ok=True)
    for component in COMPONENTS:
        path = manifests / f"{component}.yaml"
        if not path.exists():
            continue
        text = path.read_text()
        (backup / path.name).write_text(text)
        pod = yaml.safe_load(text)
        container = pod["spec"]["containers"][0]
        container["image"] = f"{container['image'].rsplit(':', 1)[0]}:{version}"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(pod))
        tmp.replace(path)
        print(f'[upgrade/staticpods] Moving new manifest to "/etc/kubernetes/manifests/{path.name}" and backing up old '
              f'manifest to "/etc/kubernetes/tmp/{backup.name}/{path.name}"')  # fmt: skip
    return True


def ready_control_planes(api: Api) -> list[str]:
    """Names of the control-plane Nodes whose Ready condition is not True."""
    nodes = api.get("/api/v1/nodes?labelSelector=node-role.kubernetes.io%2Fcontrol-plane")["items"]
    not_ready = []
    for node in nodes:
        ready = [c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
        if not ready or ready[0].get("status") != "True":
            not_ready.append(node["metadata"]["name"])
    return sorted(not_ready)


def ignored(cmd: s.Command, part: dict[str, Any]) -> set[str]:
    flags = cmd.flag("--ignore-preflight-errors") or []
    flags = flags if isinstance(flags, list) else [flags]
    names = {x.strip().lower() for f in flags for x in f.split(",")}
    return names | {x.lower() for x in part.get("ignorePreflightErrors") or []}


def upgrade_apply(cmd: s.Command) -> None:
    part = upgrade_config(cmd, "apply")
    wanted = part.get("kubernetesVersion", "")
    if cmd.args and wanted and version_tuple(cmd.args[0]) != version_tuple(wanted):
        s.fail(f'error: the version argument "{cmd.args[0]}" and apply.kubernetesVersion "{wanted}" differ')
    target = cmd.args[0] if cmd.args else wanted
    if not target:
        s.fail("error: missing version argument: kubeadm upgrade apply [version] (or apply.kubernetesVersion)")
    target = "v" + str(target).lstrip("v")
    kubeconfig_path = cmd.flag("--kubeconfig", "/etc/kubernetes/admin.conf")
    api = kubeconfig_api(kubeconfig_path)
    if not host("/etc/kubernetes/manifests/kube-apiserver.yaml").exists():
        s.fail(
            "[upgrade] FATAL: this node is not a control plane: "
            "/etc/kubernetes/manifests/kube-apiserver.yaml is missing"
        )
    print("[preflight] Running pre-flight checks.")
    not_ready = ready_control_planes(api)
    skipped = ignored(cmd, part)
    if not_ready and not {"controlplanenodesready", "all"} & skipped:
        s.fail(
            "[preflight] Some fatal errors occurred:\n"
            "\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: "
            f"[{' '.join(not_ready)}]\n"
            "[preflight] If you know what you are doing, you can make a check non-fatal with "
            "`--ignore-preflight-errors=...`"
        )
    cluster = cluster_configuration(api)
    current = "v" + str(cluster.get("kubernetesVersion", "")).lstrip("v")
    print(f'[upgrade/version] You have chosen to change the cluster version to "{target}"')
    print(f"[upgrade/versions] Cluster version: {current}")
    print(f"[upgrade/versions] kubeadm version: {KUBEADM_VERSION}")
    want, have, mine = version_tuple(target), version_tuple(current), version_tuple(KUBEADM_VERSION)
    if want > mine:
        s.fail(
            f"[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n"
            f'\t- Specified version to upgrade to "{target}" is higher than the kubeadm version "{KUBEADM_VERSION}". '
            "Upgrade kubeadm first using the tool you used to install kubeadm"
        )
    if want[:1] != have[:1] or want[1] > have[1] + 1:
        s.fail(
            f"[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n"
            f'\t- Specified version to upgrade to "{target}" is too high; '
            "kubeadm can upgrade only 1 minor version at a time"
        )
    if want < have:
        s.fail(
            f"[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n"
            f'\t- Specified version to downgrade to "{target}" is lower than the cluster version "{current}"; '
            "this stand-in (as Dockyard's upgrade rules) does not downgrade"
        )
    if not (cmd.flag("--yes") or cmd.flag("-y") or cmd.flag("--force") or cmd.flag("-f") or part.get("forceUpgrade")):
        s.fail("[upgrade] Are you sure you want to proceed? [y/N]: aborted (no terminal to confirm; pass --yes)")
    changed = upgrade_manifests(target)
    if current != target:
        cluster["kubernetesVersion"] = target
        api.apply(
            "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
                "data": {"ClusterConfiguration": yaml.safe_dump(cluster)},
            },
        )
        print(
            '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" '
            'in the "kube-system" Namespace'
        )
    if state_file().exists():
        state = load_state()
        state["version"] = target
        save_state(state)
    node = node_name_of("/etc/kubernetes/kubelet.conf")
    s.record(
        "kubeadm-standin",
        ["upgrade", "apply"],
        event="upgraded",
        kind="apply",
        node=node,
        from_version=current,
        to_version=target,
        changed=changed or current != target,
    )
    print(f'[upgrade/successful] SUCCESS! Your cluster was upgraded to "{target}". Enjoy!')


def upgrade_node(cmd: s.Command) -> None:
    upgrade_config(cmd, "node")
    control_plane = host("/etc/kubernetes/manifests/kube-apiserver.yaml").exists()
    kubeconfig_path = cmd.flag("--kubeconfig") or (
        "/etc/kubernetes/admin.conf" if control_plane else "/etc/kubernetes/kubelet.conf"
    )
    api = kubeconfig_api(kubeconfig_path)
    cluster = cluster_configuration(api)
    target = "v" + str(cluster.get("kubernetesVersion", "")).lstrip("v")
    if version_tuple(KUBEADM_VERSION) < version_tuple(target):
        s.fail(
            f'error execution phase preflight: the kubeadm version "{KUBEADM_VERSION}" is older than the cluster '
            f'version "{target}"; upgrade kubeadm first using the tool you used to install kubeadm'
        )
    node = node_name_of("/etc/kubernetes/kubelet.conf")
    if control_plane:
        before = "v" + manifest_tag("kube-apiserver").lstrip("v")
        print(f'[upgrade] Upgrading your Static Pod-hosted control plane instance to version "{target}"...')
        changed = upgrade_manifests(target)
    else:
        print("[upgrade] Skipping phase. Not a control plane node.")
        code, found = api.call("GET", f"/api/v1/nodes/{node}")
        before = (found.get("status") or {}).get("nodeInfo", {}).get("kubeletVersion", "") if code == 200 else ""
        changed = before != target
    config = host("/var/lib/kubelet/config.yaml")
    if config.exists():
        stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S")
        backup = host(f"/etc/kubernetes/tmp/kubeadm-kubelet-config-{stamp}")
        backup.mkdir(parents=True, exist_ok=True)
        (backup / "config.yaml").write_text(config.read_text())
        print(f"[upgrade] Backing up kubelet config file to /etc/kubernetes/tmp/{backup.name}/config.yaml")
        print('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    s.record(
        "kubeadm-standin",
        ["upgrade", "node"],
        event="upgraded",
        kind="node",
        node=node,
        control_plane=control_plane,
        from_version=before,
        to_version=target,
        changed=changed,
    )
    print("[upgrade] The configuration for this node was successfully upgraded!")
    print("[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.")


HANDLERS = {
    "init": init,
    "token create": token_create,
    "init phase upload-certs": upload_certs,
    "init phase certs apiserver": certs_apiserver,
    "join": join,
    "reset": reset,
    "upgrade apply": upgrade_apply,
    "upgrade node": upgrade_node,
}


def main() -> None:
    cmd = s.parse("kubeadm", sys.argv[1:], _data("cli.json"))
    handler = HANDLERS.get(cmd.subcommand)
    if handler is None:
        s.unsupported(f"kubeadm {cmd.subcommand} (documented, but this stand-in does not do it)")
    handler(cmd)


if __name__ == "__main__":
    main()
