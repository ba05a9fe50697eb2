"""Certificates of the test web: one trusted CA and leaf for every host, a second CA for the bad-TLS host.

Chromium is told to accept the trusted chain by SPKI pin (`--ignore-certificate-errors-spki-list`), which it
checks against the leaf and every certificate the server sends; so we send the CA too and pin both keys. A leaf
re-issued after `TestWeb.add_site` then still matches the CA pin of flags handed out earlier.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
from collections.abc import Iterable

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def spki_sha256(cert_pem: bytes) -> str:
    """Base64 SHA-256 of a certificate's SubjectPublicKeyInfo: the form Chromium's SPKI allow-list takes."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def server_context(chain_file: str, key_file: str) -> ssl.SSLContext:
    """A server context for HTTP/1.1 only (no h2 in ALPN: the engine speaks HTTP/1.1)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain_file, key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Certificates:
    """The trusted CA, its leaf for `hosts`, and an untrusted CA's leaf for `untrusted_hosts`; files in `folder`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.ca = trustme.CA(organization_name="mouchard test web")
        self.bad_ca = trustme.CA(organization_name="mouchard untrusted")
        self.ca_pem_path = os.path.join(folder, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_pem_path)
        self.ca_spki = spki_sha256(self.ca.cert_pem.bytes())
        self.leaf_spki = ""
        self.context: ssl.SSLContext | None = None
        self.bad_context: ssl.SSLContext | None = None
        self.bad_hosts: frozenset[str] = frozenset()
        self._issued = 0

    def issue(self, hosts: Iterable[str], untrusted_hosts: Iterable[str]) -> None:
        """(Re)issue both leaves and swap in fresh server contexts (connections already open keep theirs)."""
        self._issued += 1
        names = sorted(set(hosts) | {"localhost", "127.0.0.1"})
        leaf = self.ca.issue_cert(*names, common_name=names[0])
        self.leaf_spki = spki_sha256(leaf.cert_chain_pems[0].bytes())
        self.context = self._context("leaf", leaf, self.ca)
        bad_names = sorted(set(untrusted_hosts)) or ["untrusted.invalid"]
        self.bad_hosts = frozenset(bad_names)
        self.bad_context = self._context("bad", self.bad_ca.issue_cert(*bad_names), self.bad_ca)
        self.context.sni_callback = self._pick_by_sni

    def _context(self, stem: str, leaf: trustme.LeafCert, ca: trustme.CA) -> ssl.SSLContext:
        chain_file = os.path.join(self.folder, f"{stem}{self._issued}-chain.pem")
        key_file = os.path.join(self.folder, f"{stem}{self._issued}-key.pem")
        with open(chain_file, "wb") as out:
            for pem in leaf.cert_chain_pems:
                out.write(pem.bytes())
            out.write(ca.cert_pem.bytes())  # sent so the CA pin matches too (see module docstring)
        leaf.private_key_pem.write_to_path(key_file)
        return server_context(chain_file, key_file)

    def _pick_by_sni(self, sslobj: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext) -> None:
        if server_name and server_name.lower() in self.bad_hosts:
            sslobj.context = self.bad_context

    def spki_list(self) -> str:
        """The value of Chromium's `--ignore-certificate-errors-spki-list`: leaf then CA."""
        return f"{self.leaf_spki},{self.ca_spki}"
