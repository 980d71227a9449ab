"""Credentials filled in at apply time: the admin password's hash kept stable, check mode writes nothing,
kubeconfig credentials turned into an Argo CD cluster config."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import bcrypt
import yaml

from dockyard.gitops import apply, phase, secret_values


class Store(dict[str, str]):
    writes = 0

    def set(self, key: str, value: str) -> bool:
        self.writes += 1
        self[key] = value
        return True

    def get_or_create(self, key: str, generate: Callable[[], str]) -> tuple[str, bool]:
        if key in self:
            return self[key], False
        self.set(key, generate())
        return self[key], True


def test_admin_password_hash_is_reused_until_the_password_changes() -> None:
    store = Store()
    first = secret_values.admin_password(store, "prod", lambda: "first-password")
    assert bcrypt.checkpw(b"first-password", first.bcrypt_hash.encode())
    assert secret_values.admin_password(store, "prod", lambda: "unused") == first  # stable values, no re-hash
    store["argocd.prod.admin_password"] = "rotated-password"
    rotated = secret_values.admin_password(store, "prod", lambda: "unused")
    assert rotated.bcrypt_hash != first.bcrypt_hash
    assert bcrypt.checkpw(b"rotated-password", rotated.bcrypt_hash.encode())


def test_check_mode_store_never_writes() -> None:
    vault = Store()
    dry = secret_values.DryRunStore(vault)
    made = secret_values.admin_password(dry, "dev", lambda: "would-be")
    assert vault == {} and vault.writes == 0
    assert bcrypt.checkpw(b"would-be", made.bcrypt_hash.encode())


def test_kubeadm_kubeconfig_becomes_a_cluster_config(tmp_path: Path) -> None:
    ca, cert, key = (base64.b64encode(x).decode() for x in (b"CA PEM", b"CERT PEM", b"KEY PEM"))
    path = tmp_path / "admin.conf"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "kubernetes",
                        "cluster": {"server": "https://10.0.0.10:6443", "certificate-authority-data": ca},
                    }
                ],
                "users": [
                    {"name": "kubernetes-admin", "user": {"client-certificate-data": cert, "client-key-data": key}}
                ],
                "contexts": [
                    {
                        "name": "kubernetes-admin@kubernetes",
                        "context": {"cluster": "kubernetes", "user": "kubernetes-admin"},
                    }
                ],
                "current-context": "kubernetes-admin@kubernetes",
            }
        )
    )
    server, config = secret_values.cluster_credentials(path)
    assert server == "https://10.0.0.10:6443"
    assert json.loads(config) == {
        "tlsClientConfig": {"insecure": False, "caData": ca, "certData": cert, "keyData": key}
    }


def test_resolver_fills_data_and_reports_what_is_missing(tmp_path: Path) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "repo-x", "annotations": {"dockyard.io/value-from.sshPrivateKey": "vault:k"}},
        "type": "Opaque",
        "stringData": {"url": "git@h:x/x.git"},
    }
    resolver = secret_values.Resolver(vault=Store(k="KEY"), kubeconfigs={}, pki_dir=tmp_path)
    filled = resolver.fill(secret)
    assert filled is not None and "stringData" not in filled
    assert {k: base64.b64decode(v).decode() for k, v in filled["data"].items()} == {
        "sshPrivateKey": "KEY",
        "url": "git@h:x/x.git",
    }
    assert "data" not in secret  # the rendered object is left as it was
    empty = secret_values.Resolver(vault=Store(), kubeconfigs={}, pki_dir=tmp_path)
    assert empty.fill(secret) is None
    assert empty.missing == [
        "Secret repo-x: sshPrivateKey from vault:k: not in the vault yet (the GitLab seeder stores the deploy keys)"
    ]


def _secret(name: str, refs: dict[str, str]) -> dict[str, object]:
    annotations = {f"dockyard.io/value-from.{field}": ref for field, ref in refs.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "annotations": annotations}}


def test_only_objects_lacking_what_seed_stores_wait_on_seed(tmp_path: Path) -> None:
    """Deploy keys (vault) and Harbor robot secrets (harbor-pull) are seed's to store; a missing certificate
    or kubeconfig is an earlier phase's, so applying again after seed would not help."""
    objects = [
        _secret("repo-shop-deploy", {"sshPrivateKey": "vault:argocd.dev.deploy_key.shop"}),
        _secret("harbor-pull", {".dockerconfigjson": "harbor-pull:robot$shop+pull harbor.robot.shop.pull"}),
        _secret("argocd-server-tls", {"tls.crt": "pki-cert:argocd.dev", "tls.key": "pki-key:argocd.dev"}),
        _secret("cluster-dev", {"server": "kubeconfig-server:dev"}),
    ]
    resolver = secret_values.Resolver(vault=Store(), kubeconfigs={}, pki_dir=tmp_path, registry="harbor.x")
    assert [resolver.waits_on_seed(o) for o in objects] == [True, True, False, False]
    stored = secret_values.Resolver(
        vault=Store({"argocd.dev.deploy_key.shop": "KEY"}), kubeconfigs={}, pki_dir=tmp_path
    )
    assert not stored.waits_on_seed(objects[0])  # nothing lacking: nothing to wait for
    # Every object here is kept, so the cluster is never asked.
    report = apply.apply_objects(cast(Any, None), objects, resolver=resolver, dry_run=False)
    assert [c.action for c in report.changes] == ["kept"] * 4
    assert report.waiting_on_seed == 2 and not report.changed
    result = phase.PhaseResult("dev")
    phase._report(result, "objects", report, check=False)
    phase._report(result, "pull secrets", report, check=False)
    assert result.waiting_on_seed == 4  # added up over the phase's applies
