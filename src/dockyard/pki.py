"""The platform's internal certificate authority, on the controller, with ``cryptography``.

Layout of the PKI directory (``<state_dir>/pki``, mode 0700):

* ``ca.crt`` (0644) and ``ca.key`` (0600, encrypted with a passphrase kept in the vault,
  ``pki.ca-key-passphrase``): the CA, created once. Its certificate carries X.509 name constraints
  (critical): it can only vouch for names under the platform's domain and for the hosts' addresses,
  although it sits in every host's trust store;
* ``certs/<name>.crt`` (0644) and ``certs/<name>.key`` (0600): one server certificate per service
  name, with its DNS names (and IP addresses) as SANs.

A server certificate is issued again only when its SANs change, it was not signed by this CA, or
it expires within the renewal window. Keys never leave the files they are written to.

Migration: when the wanted name constraints differ from the CA certificate's (an older lab had
none, or hosts were added), the CA certificate is signed again with the same key and subject.
Certificates chain by issuer name and key, so every server certificate already issued still
verifies and none is reissued; an unencrypted key is encrypted in place.
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


class CaError(ValueError):
    """The CA files cannot be used as they are (a one-line reason naming the file)."""


@dataclass(frozen=True)
class CaPolicy:
    common_name: str
    passphrase: bytes | None  # None: the key stays unencrypted (only tests and old callers)
    permitted_dns: tuple[str, ...] = ()
    permitted_ips: tuple[str, ...] = ()
    validity_days: int = CA_VALIDITY_DAYS

    def name_constraints(self) -> x509.NameConstraints | None:
        if not self.permitted_dns and not self.permitted_ips:
            return None
        subtrees: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(set(self.permitted_dns))]
        networks = sorted({ipaddress.ip_network(i) for i in self.permitted_ips}, key=lambda n: (n.version, n))
        subtrees += [x509.IPAddress(n) for n in networks]
        return x509.NameConstraints(permitted_subtrees=subtrees, excluded_subtrees=None)


@dataclass
class CaResult:
    ca: CertificateAuthority
    action: str  # create, update, noop
    reason: str = ""


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
    _key: ec.EllipticCurvePrivateKey | None = field(repr=False)

    @property
    def cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, request: CertRequest, validity_days: int = CERT_VALIDITY_DAYS) -> tuple[bytes, bytes]:
        """A new key and certificate for the request, as PEM (cert, key)."""
        if self._key is None:
            raise CaError(f"{self.directory / 'ca.key'}: not loaded (check mode signs nothing)")
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
    directory: Path,
    common_name: str,
    validity_days: int = CA_VALIDITY_DAYS,
    *,
    passphrase: bytes | None = None,
    permitted_dns: tuple[str, ...] = (),
    permitted_ips: tuple[str, ...] = (),
) -> tuple[CertificateAuthority, bool]:
    policy = CaPolicy(common_name, passphrase, tuple(permitted_dns), tuple(permitted_ips), validity_days)
    result = ensure_ca(directory, policy)
    return result.ca, result.action == "create"


def ensure_ca(directory: Path, policy: CaPolicy, *, check: bool = False) -> CaResult:
    """The CA, created once, kept in line with ``policy`` (name constraints, encrypted key)."""
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    if not (cert_path.exists() and key_path.exists()):
        if check:
            return CaResult(CertificateAuthority(directory, _placeholder_cert(policy), None), "create", "new")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        key = ec.generate_private_key(ec.SECP384R1())
        now = _now()
        cert = _ca_cert(key, policy, now - dt.timedelta(minutes=5), now + dt.timedelta(days=policy.validity_days))
        write_atomic(key_path, _key_pem(key, policy.passphrase), 0o600)
        write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return CaResult(CertificateAuthority(directory, cert, key), "create", "new")
    if not check:
        os.chmod(directory, 0o700)
        os.chmod(key_path, 0o600)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key_pem = key_path.read_bytes()
    encrypted = b"ENCRYPTED" in key_pem.split(b"\n", 1)[0]
    reasons = []
    if _constraints_of(cert) != policy.name_constraints():
        reasons.append("name constraints changed: CA certificate signed again with the same key")
    if policy.passphrase is not None and not encrypted:
        reasons.append("key encrypted with the vault's passphrase")
    if check:
        action = "update" if reasons else "noop"
        return CaResult(CertificateAuthority(directory, cert, None), action, "; ".join(reasons))
    key = _load_key(key_path, key_pem, policy.passphrase if encrypted else None)
    if reasons and reasons[0].startswith("name constraints"):
        cert = _ca_cert(key, policy, cert.not_valid_before_utc, cert.not_valid_after_utc, subject=cert.subject)
        write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    if policy.passphrase is not None and not encrypted:
        write_atomic(key_path, _key_pem(key, policy.passphrase), 0o600)
    return CaResult(CertificateAuthority(directory, cert, key), "update" if reasons else "noop", "; ".join(reasons))


def _ca_cert(
    key: ec.EllipticCurvePrivateKey,
    policy: CaPolicy,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    subject: x509.Name | None = None,
) -> x509.Certificate:
    name = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, policy.common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    constraints = policy.name_constraints()
    if constraints is not None:
        builder = builder.add_extension(constraints, critical=True)
    return builder.sign(key, hashes.SHA384())


def _constraints_of(cert: x509.Certificate) -> x509.NameConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None


def _load_key(path: Path, pem: bytes, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError):
        raise CaError(
            f"{path}: cannot be decrypted with the passphrase in the vault (pki.ca-key-passphrase): "
            f"restore the vault or the key from a backup"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CaError(f"{path}: expected an EC key")
    return key


def _placeholder_cert(policy: CaPolicy) -> x509.Certificate:
    """Check mode before the CA exists: a throwaway certificate so requests can be judged (all new)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    return _ca_cert(key, policy, now, now + dt.timedelta(days=1))


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
    if not _within(ca.cert, *have):
        return "outside the CA's name constraints"
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


def _within(ca: x509.Certificate, dns: frozenset[str], ips: frozenset[str]) -> bool:
    constraints = _constraints_of(ca)
    if constraints is None:
        return True
    subtrees = constraints.permitted_subtrees or []
    domains = [t.value.lower() for t in subtrees if isinstance(t, x509.DNSName)]
    networks = [t.value for t in subtrees if isinstance(t, x509.IPAddress)]
    dns_ok = all(any(d.lower() == c or d.lower().endswith("." + c) for c in domains) for d in dns)
    ips_ok = all(any(ipaddress.ip_address(i) in n for n in networks) for i in ips)
    return dns_ok and ips_ok


def _key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM; encrypted (the library's best available scheme) when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
