"""TLS for a deployment's NATS (compose; a production cluster may use its own PKI instead): a
private CA that only the bus trusts, and one certificate for the NATS nodes, valid as a server
(clients connect to it) and as a client (nodes route to each other and verify one another)."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
NODE_DAYS = 825  # what browsers accept for a server certificate; renewing: docs/operations.md


@dataclass(frozen=True)
class BusTlsFiles:
    ca: Path  # the CA certificate every client and node trusts
    ca_key: Path  # kept to sign a renewed node certificate; the nodes never need it
    cert: Path  # the nodes' certificate
    key: Path  # its private key (the nodes only)

    @classmethod
    def in_folder(cls, folder: Path) -> BusTlsFiles:
        return cls(
            folder / "nats-ca.pem",
            folder / "nats-ca.key",
            folder / "nats-server.pem",
            folder / "nats-server.key",
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bridges"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    path.write_bytes(data)
    os.chmod(path, mode)


def ensure_tls(folder: Path, hosts: list[str], mode: int = 0o600) -> BusTlsFiles:
    """The CA (made once) and the nodes' certificate for `hosts` (made again when the hosts
    changed or it expires within 30 days), written to `folder` as `mode`."""
    files = BusTlsFiles.in_folder(folder)
    now = datetime.datetime.now(datetime.UTC)
    if not (files.ca.exists() and files.ca_key.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name("Bridges NATS CA"))
            .issuer_name(_name("Bridges NATS CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write(files.ca_key, _pem_key(ca_key), 0o600)  # never mounted into a container
        _write(files.ca, ca.public_bytes(serialization.Encoding.PEM), mode)
        files.cert.unlink(missing_ok=True)  # signed by the old CA, if any
    if _current(files.cert, hosts, now):
        return files
    signer = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    assert isinstance(signer, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(files.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=NODE_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(signer, hashes.SHA256())
    )
    _write(files.key, _pem_key(key), mode)
    _write(files.cert, cert.public_bytes(serialization.Encoding.PEM), mode)
    return files


def _current(cert_file: Path, hosts: list[str], now: datetime.datetime) -> bool:
    if not cert_file.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    fresh = cert.not_valid_after_utc - now > datetime.timedelta(days=30)
    return fresh and sorted(names.get_values_for_type(x509.DNSName)) == sorted(hosts)
