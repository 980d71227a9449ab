"""STAND-IN LIBRARY (tests only): the stdlib client of the cluster's API the stand-in kubeadm and
kubectl use (a zipapp module beside standin_lib; the hosts have python3 and nothing else)."""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import standin_lib as s

APPLY_PATCH = "application/apply-patch+yaml"


class Api:
    """A client of the cluster's API: verified TLS (``ca`` PEM) unless discovering, then a client
    certificate (PEM pair) or a bearer token."""

    def __init__(
        self, server: str, ca: bytes | None, *, cert: tuple[bytes, bytes] | None = None, token: str = ""
    ) -> None:
        self.server, self.token = server.rstrip("/"), token
        self.timeout_s = 10.0
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

    def call(self, method: str, path: str, body: Any = None, content_type: str = APPLY_PATCH) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)  # noqa: S310 (https)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout_s) as resp:  # noqa: S310 (https)
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


def from_kubeconfig(conf: dict[str, Any]) -> Api:
    """A client as kubeadm and kubectl build one from a kubeconfig (its first cluster and user): the
    server, the CA (data or file; an https server without one is refused, as x509 verification
    would fail), and a client certificate or a token."""
    cluster, user = conf["clusters"][0]["cluster"], conf["users"][0]["user"]
    if "certificate-authority-data" in cluster:
        ca: bytes | None = base64.b64decode(cluster["certificate-authority-data"])
    elif "certificate-authority" in cluster:
        ca = Path(cluster["certificate-authority"]).read_bytes()
    elif str(cluster["server"]).startswith("https://"):
        s.fail(f"error: {cluster['server']}: x509: certificate signed by unknown authority (no CA in the kubeconfig)")
    else:
        ca = None  # plain http (a test double on loopback)
    if "client-certificate-data" in user:
        pair = (base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"]))
        return Api(cluster["server"], ca, cert=pair)
    return Api(cluster["server"], ca, token=user.get("token", ""))
