"""STAND-IN for kubeadm (Dockyard tests only; never part of the product). Runs on a test host as
/usr/local/bin/kubeadm (a zipapp: this file, standin_lib, the config schemas, pure-Python PyYAML).

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
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import standin_lib as s
import yaml

ROOT = Path(os.environ.get("DOCKYARD_STANDIN_ROOT", "/"))  # tests of the stand-in itself run in a temp root


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
        "-CAcreateserial",
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


class Api:
    """A client of the cluster's API: verified TLS (``ca`` PEM) unless discovering, then a client
    certificate (PEM pair) or a bearer token."""

    def __init__(
        self, server: str, ca: bytes | None, *, cert: tuple[bytes, bytes] | None = None, token: str = ""
    ) -> None:
        self.server, self.token = server.rstrip("/"), token
        if ca is None:  # discovery: the CA is not known yet; what is fetched gets pinned by hash
            self.ctx = ssl._create_unverified_context()  # noqa: S323
        else:
            self.ctx = ssl.create_default_context(cadata=ca.decode())
        if cert is not None:
            with tempfile.TemporaryDirectory() as tmp:
                crt, key = Path(tmp) / "c.crt", Path(tmp) / "c.key"
                crt.write_bytes(cert[0])
                key.write_bytes(cert[1])
                self.ctx.load_cert_chain(crt, key)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/apply-patch+yaml"
        req = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)  # noqa: S310 (https)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:  # noqa: S310 (https)
                raw = resp.read()
                code = resp.status
        except urllib.error.HTTPError as exc:
            raw, code = exc.read(), exc.code
        try:
            return code, json.loads(raw)
        except ValueError:
            return code, raw.decode(errors="replace")

    def apply(self, path: str, obj: dict[str, Any], manager: str = "kubeadm") -> dict[str, Any]:
        code, out = self.call("PATCH", f"{path}?fieldManager={manager}&force=true", obj)
        if code >= 300:
            s.fail(f"error: {path}: {code} {out.get('message', out) if isinstance(out, dict) else out}")
        return out

    def get(self, path: str) -> dict[str, Any]:
        code, out = self.call("GET", path)
        if code == 401:
            s.fail("error: unable to authenticate: the bootstrap token is invalid or has expired")
        if code >= 300:
            s.fail(f"error: {path}: {code} {out.get('message', out) if isinstance(out, dict) else out}")
        return out


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


HANDLERS = {
    "init": init,
    "token create": token_create,
    "init phase upload-certs": upload_certs,
    "init phase certs apiserver": certs_apiserver,
    "join": join,
    "reset": reset,
}


def main() -> None:
    cmd = s.parse("kubeadm", sys.argv[1:], _data("cli.json"))
    handler = HANDLERS.get(cmd.subcommand)
    if handler is None:
        s.unsupported(f"kubeadm {cmd.subcommand} (documented, but this stand-in does not do it)")
    handler(cmd)


if __name__ == "__main__":
    main()
