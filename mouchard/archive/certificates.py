"""The certificates of a replay server: a CA made for one server only and, on demand, a leaf per host it is asked
for (mouchard.archive.replay_server terminates its tunnels' TLS with them)."""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mouchard.archive.http1 import valid_host

HOSTS_MAX = 1024  # leaf certificates kept (least recently used dropped)


class ReplayCertificates:
    """A CA made for one server (EC P-256, `ca_file` PEM in `folder`) and, on demand, a server context per host
    with a leaf certificate for it (one leaf key shared by all: making a key per host would cost far more than the
    signature). Host names come from clients: callers check them with `valid_host`, and files are named by a
    counter, never by a host."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mouchard replay CA"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mouchard replay")])
        self._ca_name = name
        public = self._ca_key.public_key()
        self._ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
                         .serial_number(x509.random_serial_number())
                         .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                         .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                         .add_extension(x509.KeyUsage(
                             digital_signature=False, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                             encipher_only=False, decipher_only=False), critical=True)
                         .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                         .sign(self._ca_key, hashes.SHA256()))
        self._ca_pem = self._ca_cert.public_bytes(serialization.Encoding.PEM)
        self.ca_file = os.path.join(folder, "ca.pem")
        with open(self.ca_file, "wb") as out:
            out.write(self._ca_pem)
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._key_file = os.path.join(folder, "leaf-key.pem")
        fd = os.open(self._key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self._leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._issued = 0

    def context(self, host: str) -> ssl.SSLContext:
        """The server context for `host` (a checked DNS name or IP address), made and cached on first use."""
        ctx = self._contexts.get(host)
        if ctx is not None:
            self._contexts.move_to_end(host)
            return ctx
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(["http/1.1"])
        self._issued += 1
        chain = os.path.join(self.folder, f"leaf-{self._issued}.pem")  # a counter: a host never becomes a path
        with open(chain, "wb") as out:
            # the CA travels with the leaf: Chromium's SPKI allow-list (ca_args) pins the CA's key in the chain
            out.write(self._leaf(host).public_bytes(serialization.Encoding.PEM) + self._ca_pem)
        try:
            ctx.load_cert_chain(chain, self._key_file)
        finally:
            os.unlink(chain)
        ctx.sni_callback = self._by_sni
        self._contexts[host] = ctx
        while len(self._contexts) > HOSTS_MAX:
            self._contexts.popitem(last=False)
        return ctx

    def _leaf(self, host: str) -> x509.Certificate:
        now = datetime.now(UTC)
        try:
            san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            san = x509.DNSName(host)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)] if len(host) <= 64 else [])
        public = self._leaf_key.public_key()
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(self._ca_name).public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=90))
                .add_extension(x509.SubjectAlternativeName([san]), critical=len(host) > 64)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()),
                               critical=False)
                .sign(self._ca_key, hashes.SHA256()))

    def _by_sni(self, sslobj: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext) -> None:
        # The certificate of the name the client asked for (the CONNECT target's is the default: no SNI for IPs).
        name = (server_name or "").lower().rstrip(".")
        if name and valid_host(name):
            sslobj.context = self.context(name)
