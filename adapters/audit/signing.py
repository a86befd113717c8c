"""The service's Ed25519 key, which signs the checkpoints of the hash chain.

Generated once into `<data dir>/audit/signing-key.pem`, readable by its owner only and never
logged; the public key lies beside it (`signing-key.pub.pem`) for auditors, who verify with it
and nothing else. Several services sharing a data directory share the key: the first to start
creates it, atomically, and the others load it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from adapters.integrity.keyfiles import create_once, replace_with

PRIVATE_NAME, PUBLIC_NAME = "signing-key.pem", "signing-key.pub.pem"


class SigningKeyError(Exception):
    """A key file that cannot be read or is not an Ed25519 key."""


def key_directory(data_dir: Path) -> Path:
    return data_dir / "audit"


def public_key_path(data_dir: Path) -> Path:
    return key_directory(data_dir) / PUBLIC_NAME


def key_id(public_key: ECC.EccKey) -> str:
    return hashlib.sha256(public_key.export_key(format="raw")).hexdigest()[:16]


class SigningKey:
    def __init__(self, private_key: ECC.EccKey) -> None:
        self._signer = eddsa.new(private_key, "rfc8032")
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def __repr__(self) -> str:  # never the key itself, in a log or a traceback
        return f"SigningKey(key_id={self.key_id})"

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign(message)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SigningKey:
        directory = key_directory(data_dir)
        private = directory / PRIVATE_NAME
        if not private.exists():
            _create(private)
        key = cls(_import(private))
        # Derived from the private key each time: the file beside it cannot drift from it.
        public = directory / PUBLIC_NAME
        pem = public_pem(key.public_key) + "\n"
        if not public.exists() or public.read_text() != pem:
            replace_with(public, pem.encode(), 0o644)
        return key


def _create(private: Path) -> None:
    create_once(private, ECC.generate(curve="Ed25519").export_key(format="PEM").encode() + b"\n")


def _import(path: Path) -> ECC.EccKey:
    try:
        key = ECC.import_key(path.read_text())
    except (OSError, ValueError) as error:
        raise SigningKeyError(f"cannot read the key {path} ({type(error).__name__})") from None
    if key.curve != "Ed25519":
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> ECC.EccKey:
    return _import(path).public_key()


def public_pem(public_key: ECC.EccKey) -> str:
    return public_key.export_key(format="PEM")


def signature_valid(public_key: ECC.EccKey, message: bytes, signature: bytes) -> bool:
    try:
        eddsa.new(public_key, "rfc8032").verify(message, signature)
    except ValueError:
        return False
    return True
