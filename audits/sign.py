"""Detached Ed25519 signatures of a bundle's MANIFEST.json, made with a key only the auditor holds.

The signature (`MANIFEST.json.sig`, the 64 raw bytes of RFC 8032 Ed25519) is over the exact bytes of
MANIFEST.json, which is canonical and holds the bundle digest: checking it with the auditor's public key shows the
key holder signed this manifest, hence these files. Anyone can check it without mouchard:

    openssl pkeyutl -verify -pubin -inkey auditor.pub -rawin -in MANIFEST.json -sigfile MANIFEST.json.sig

Keys are PEM files as OpenSSL writes them (`openssl genpkey -algorithm ed25519 -out auditor.key`, then
`openssl pkey -in auditor.key -pubout -out auditor.pub`), or made by `generate_key_pair`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mouchard.errors import UserError
from mouchard.paths import UnsafePath, read_inside

from audits.bundle import MANIFEST, MAX_MANIFEST_BYTES, SIGNATURE

MAX_KEY_BYTES = 16 * 1024
SIGNATURE_BYTES = 64


def _read_key(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read key {path}: {exc.strerror}") from None
    if len(data) > MAX_KEY_BYTES:
        raise UserError(f"{path} is too large to be a key file")
    return data


def load_private_key(path: str | os.PathLike):
    """The Ed25519 private key in the PEM file `path` (unencrypted PKCS#8, as `openssl genpkey` writes it)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(_read_key(path), password=None)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path} is not an unencrypted PEM private key: {str(exc).splitlines()[0][:120]}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path} is not an Ed25519 key (make one with: openssl genpkey -algorithm ed25519)")
    return key


def load_public_key(path: str | os.PathLike):
    """The Ed25519 public key in the PEM file `path` (`openssl pkey -pubout` writes it)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(_read_key(path))
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path} is not a PEM public key: {str(exc).splitlines()[0][:120]}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserError(f"{path} is not an Ed25519 public key")
    return key


def key_fingerprint(public_key) -> str:
    """SHA-256 of the raw 32-byte public key, hex: how the report and `verify` name the signer's key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def generate_key_pair(private_path: str | os.PathLike) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: `private_path` (PEM, mode 0600, never overwritten) and `<private_path>.pub`."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat,
                                                              PublicFormat)

    private_path = Path(private_path)
    public_path = Path(f"{private_path}.pub")
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise UserError(f"{private_path} exists: a key is never overwritten") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public_path.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def sign_bundle(root: str | os.PathLike, private_key_path: str | os.PathLike) -> str:
    """Write `MANIFEST.json.sig` for the bundle at `root`; returns the signing key's fingerprint."""
    key = load_private_key(private_key_path)
    try:
        manifest = read_inside(root, MANIFEST, MAX_MANIFEST_BYTES)
    except (FileNotFoundError, UnsafePath) as exc:
        raise UserError(f"{root}: no readable {MANIFEST} to sign ({exc})") from None
    (Path(root) / SIGNATURE).write_bytes(key.sign(manifest))
    return key_fingerprint(key.public_key())


def signature_valid(manifest: bytes, signature: bytes, public_key) -> bool:
    """Whether `signature` is the Ed25519 signature of `manifest` by `public_key`."""
    from cryptography.exceptions import InvalidSignature

    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        public_key.verify(signature, manifest)
    except InvalidSignature:
        return False
    return True
