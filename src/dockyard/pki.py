"""The platform's internal certificate authority, on the controller, with ``cryptography``.

Layout of the PKI directory (``<state_dir>/pki``, mode 0700):

* ``ca.crt`` (0644) and ``ca.key`` (0600): the CA, created once;
* ``certs/<name>.crt`` (0644) and ``certs/<name>.key`` (0600): one server certificate per service
  name, with its DNS names (and IP addresses) as SANs.

A server certificate is issued again only when its SANs change, it was not signed by this CA, or
it expires within the renewal window. Keys never leave the files they are written to.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dockyard.files import write_atomic

CA_VALIDITY_DAYS = 3650
CERT_VALIDITY_DAYS = 397  # the browsers' limit for publicly trusted certificates; a sane default
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class CertRequest:
    name: str  # file stem, usually the primary DNS name
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...] = ()

    def sans(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(self.dns_names), frozenset(str(ipaddress.ip_address(i)) for i in self.ip_addresses)


@dataclass
class CertResult:
    name: str
    action: str  # "create", "reissue" or "noop"
    reason: str = ""
    not_after: str = ""


@dataclass
class CertificateAuthority:
    directory: Path
    cert: x509.Certificate
    _key: ec.EllipticCurvePrivateKey = field(repr=False)

    @property
    def cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, request: CertRequest, validity_days: int = CERT_VALIDITY_DAYS) -> tuple[bytes, bytes]:
        """A new key and certificate for the request, as PEM (cert, key)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        dns, ips = request.sans()
        san: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(dns)]
        san += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, request.dns_names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=validity_days))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(key_agreement=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def load_or_create_ca(
    directory: Path, common_name: str, validity_days: int = CA_VALIDITY_DAYS
) -> tuple[CertificateAuthority, bool]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: expected an EC key")
        os.chmod(key_path, 0o600)
        return CertificateAuthority(directory, cert, key), False
    key = ec.generate_private_key(ec.SECP384R1())
    now = _now()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    write_atomic(key_path, _key_pem(key), 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return CertificateAuthority(directory, cert, key), True


def reissue_reason(
    ca: CertificateAuthority, cert_pem: bytes, request: CertRequest, renew_before_days: int
) -> str | None:
    """Why an existing certificate must be issued again, or None when it is still good."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return "unreadable"
    if cert.issuer != ca.cert.subject:
        return "signed by another CA"
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return "signature does not verify with this CA"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no SANs"
    have = (
        frozenset(san.get_values_for_type(x509.DNSName)),
        frozenset(str(i) for i in san.get_values_for_type(x509.IPAddress)),
    )
    if have != request.sans():
        return "SANs changed"
    left = cert.not_valid_after_utc - _now()
    if left < dt.timedelta(days=renew_before_days):
        return f"expires in {max(left.days, 0)} days"
    return None


def ensure_cert(
    ca: CertificateAuthority,
    request: CertRequest,
    *,
    renew_before_days: int = RENEW_BEFORE_DAYS,
    validity_days: int = CERT_VALIDITY_DAYS,
    check: bool = False,
) -> CertResult:
    certs = ca.directory / "certs"
    cert_path, key_path = certs / f"{request.name}.crt", certs / f"{request.name}.key"
    if cert_path.exists() and key_path.exists():
        reason = reissue_reason(ca, cert_path.read_bytes(), request, renew_before_days)
        if reason is None:
            not_after = x509.load_pem_x509_certificate(cert_path.read_bytes()).not_valid_after_utc
            return CertResult(request.name, "noop", not_after=not_after.isoformat())
        action = "reissue"
    else:
        reason, action = "new", "create"
    if not check:
        certs.mkdir(parents=True, exist_ok=True, mode=0o700)
        cert_pem, key_pem = ca.sign(request, validity_days)
        write_atomic(key_path, key_pem, 0o600)
        write_atomic(cert_path, cert_pem, 0o644)
    return CertResult(request.name, action, reason)


def _key_usage(*, key_agreement: bool = False, key_cert_sign: bool = False, crl_sign: bool = False) -> x509.KeyUsage:
    """Digital signature always (ECDSA); key agreement for servers (ECDH), signing for the CA."""
    return x509.KeyUsage(
        digital_signature=True,
        key_encipherment=False,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
