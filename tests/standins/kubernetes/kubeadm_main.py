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

Not done by this stand-in (yet): serving the Kubernetes API (the API test double) and registering
Nodes; `join` therefore cannot check the token against the control plane.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import secrets
import subprocess
import sys
import zipfile
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
    manifests = host("/etc/kubernetes/manifests")
    ignored = init_cfg.get("nodeRegistration", {}).get("ignorePreflightErrors", [])
    if manifests.is_dir() and any(manifests.iterdir()) and "DirAvailable--etc-kubernetes-manifests" not in ignored:
        s.fail("[preflight] [ERROR DirAvailable--etc-kubernetes-manifests]: /etc/kubernetes/manifests is not empty")
    name = init_cfg.get("nodeRegistration", {}).get("name") or os.uname().nodename
    endpoint = init_cfg.get("localAPIEndpoint", {})
    pki = host(cluster.get("certificatesDir", "/etc/kubernetes/pki"))
    make_ca(pki / "ca.crt", pki / "ca.key", "kubernetes")
    make_ca(pki / "front-proxy-ca.crt", pki / "front-proxy-ca.key", "front-proxy-ca")
    make_ca(pki / "etcd" / "ca.crt", pki / "etcd" / "ca.key", "etcd-ca")
    apiserver_cert(cluster, init_cfg)
    (pki / "sa.key").write_bytes(openssl("genpkey", "-algorithm", "RSA"))
    (pki / "sa.key").chmod(0o600)
    server = f"https://{cluster.get('controlPlaneEndpoint') or endpoint.get('advertiseAddress')}"
    cluster_name = cluster.get("clusterName", "kubernetes")
    etc = host("/etc/kubernetes")
    kubeconfig(etc / "admin.conf", server, cluster_name, "kubernetes-admin", "kubeadm:cluster-admins")
    kubeconfig(etc / "super-admin.conf", server, cluster_name, "kubernetes-super-admin", "system:masters")
    kubeconfig(etc / "kubelet.conf", server, cluster_name, f"system:node:{name}", "system:nodes")
    repository = cluster.get("imageRepository", "registry.k8s.io")
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        manifests.mkdir(parents=True, exist_ok=True)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": component, "namespace": "kube-system"},
            "spec": {
                "containers": [
                    {
                        "name": component,
                        "image": f"{repository}/{component}:{cluster.get('kubernetesVersion')}",
                    }
                ]
            },
        }
        (manifests / f"{component}.yaml").write_text(yaml.safe_dump(pod))
    kubelet_files(docs.get("KubeletConfiguration", {}), init_cfg.get("nodeRegistration", {}))
    state = {"tokens": [], "certificate_key": ""}
    if cmd.flag("--upload-certs"):
        state["certificate_key"] = secrets.token_hex(32)
    save_state(state)
    print("Your Kubernetes control-plane has initialized successfully!")


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
    state["tokens"].append({"token": token, "ttl": cmd.flag("--ttl", "24h0m0s")})
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
    state = load_state()
    state["certificate_key"] = cmd.flag("--certificate-key") or secrets.token_hex(32)
    save_state(state)
    print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    print("[upload-certs] Using certificate key:")
    print(state["certificate_key"])


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
    name = registration.get("name") or os.uname().nodename
    pki = host("/etc/kubernetes/pki")
    if not (pki / "ca.crt").exists():
        # The CA the control plane serves (discovery); with no API double yet the node makes a
        # local one so the files kubeadm leaves are there and have the right shape.
        make_ca(pki / "ca.crt", pki / "ca.key", "kubernetes")
    kubeconfig(
        host("/etc/kubernetes/kubelet.conf"),
        f"https://{token['apiServerEndpoint']}",
        "kubernetes",
        f"system:node:{name}",
        "system:nodes",
    )
    kubelet_files({}, registration)
    print("This node has joined the cluster")


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
    for path in [*(host(f) for f in files), state_file()]:
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
