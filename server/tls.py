"""TLS for client connections: the server's SSL context, channel binding data, and a
self-signed certificate for local use (`rewinddb cert`).

A server started with `--tls-cert F --tls-key F` answers SSLRequest with `S` and runs the
handshake on the accepted connection (server/connection.py); without them it answers `N`.
`Tls.channel_binding` is the tls-server-end-point data of RFC 5929 that SCRAM-SHA-256-PLUS
binds to: the hash of the server certificate (DER), with the certificate's own signature
hash, or SHA-256 when that is MD5 or SHA-1.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Tls:
    context: ssl.SSLContext
    channel_binding: bytes


def load_tls(cert_path: str, key_path: str) -> Tls:
    """The server side of TLS from a PEM certificate (chain) and its private key."""
    from cryptography import x509

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    algorithm = certificate.signature_hash_algorithm
    name = algorithm.name if algorithm is not None and algorithm.name not in ("md5", "sha1") else "sha256"
    from cryptography.hazmat.primitives.serialization import Encoding
    return Tls(context, hashlib.new(name, certificate.public_bytes(Encoding.DER)).digest())


def make_self_signed(out_dir: str, hosts: list[str], days: int = 3650) -> tuple[Path, Path]:
    """Write server.crt and server.key (a self-signed pair valid for `hosts`) into out_dir."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    alternative_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alternative_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alternative_names.append(x509.DNSName(host))
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out / "server.crt", out / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path
