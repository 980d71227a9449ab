"""The internal CA: keys private, SANs right, reissue only when needed, chains verify."""

from __future__ import annotations

import datetime as dt
import ssl
import stat
import subprocess
from pathlib import Path

from cryptography import x509

from dockyard import pki

REQ = pki.CertRequest("gitlab.lab.test", ("gitlab.lab.test",), ("192.0.2.10",))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_created_once_with_private_key(tmp_path: Path) -> None:
    ca, created = pki.load_or_create_ca(tmp_path / "pki", "Dockyard test CA")
    assert created
    assert mode(tmp_path / "pki") == 0o700
    assert mode(tmp_path / "pki" / "ca.key") == 0o600
    again, created_again = pki.load_or_create_ca(tmp_path / "pki", "Dockyard test CA")
    assert not created_again
    assert again.cert == ca.cert
    basic = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is True


def test_server_cert_has_sans_and_verifies_with_openssl(tmp_path: Path) -> None:
    ca, _ = pki.load_or_create_ca(tmp_path / "pki", "Dockyard test CA")
    result = pki.ensure_cert(ca, REQ)
    assert result.action == "create"
    crt = tmp_path / "pki" / "certs" / "gitlab.lab.test.crt"
    key = tmp_path / "pki" / "certs" / "gitlab.lab.test.key"
    assert mode(key) == 0o600
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gitlab.lab.test"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.10"]
    proc = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "pki" / "ca.crt"), "-purpose", "sslserver", str(crt)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(crt), str(key))  # key matches the certificate


def test_reissue_only_when_needed(tmp_path: Path) -> None:
    ca, _ = pki.load_or_create_ca(tmp_path / "pki", "Dockyard test CA")
    pki.ensure_cert(ca, REQ)
    before = (tmp_path / "pki" / "certs" / "gitlab.lab.test.crt").read_bytes()
    assert pki.ensure_cert(ca, REQ).action == "noop"
    assert (tmp_path / "pki" / "certs" / "gitlab.lab.test.crt").read_bytes() == before
    changed = pki.CertRequest(REQ.name, (*REQ.dns_names, "git.lab.test"), REQ.ip_addresses)
    plan = pki.ensure_cert(ca, changed, check=True)
    assert (plan.action, plan.reason) == ("reissue", "SANs changed")
    assert (tmp_path / "pki" / "certs" / "gitlab.lab.test.crt").read_bytes() == before  # check mode wrote nothing
    assert pki.ensure_cert(ca, changed).action == "reissue"
    assert pki.ensure_cert(ca, changed).action == "noop"


def test_reissue_near_expiry_and_foreign_ca(tmp_path: Path) -> None:
    ca, _ = pki.load_or_create_ca(tmp_path / "pki", "Dockyard test CA")
    pki.ensure_cert(ca, REQ, validity_days=10)
    result = pki.ensure_cert(ca, REQ, renew_before_days=30)
    assert result.action == "reissue" and result.reason.startswith("expires in")
    other, _ = pki.load_or_create_ca(tmp_path / "other", "Other CA")
    cert_pem, _key = other.sign(REQ)
    assert pki.reissue_reason(ca, cert_pem, REQ, 30) == "signed by another CA"
    not_after = x509.load_pem_x509_certificate(
        (tmp_path / "pki" / "certs" / "gitlab.lab.test.crt").read_bytes()
    ).not_valid_after_utc
    assert not_after - dt.datetime.now(dt.UTC) > dt.timedelta(days=300)
