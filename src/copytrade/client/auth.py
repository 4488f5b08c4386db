"""API-key credentials for signature version 2 (HmacSHA256 or Ed25519).

The credentials only hold the key material and build a
:class:`copytrade.protocol.signing.Signer`; the canonical string and the signature itself
come from :mod:`copytrade.protocol.signing`, shared with the server. ``repr`` never shows a
secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from copytrade.protocol.signing import Signer

__all__ = ["Credentials", "Ed25519Auth", "HmacAuth", "load_ed25519_private_key"]


@dataclass(frozen=True, slots=True)
class HmacAuth:
    """An HmacSHA256 API key: access key plus secret key.

    Args:
        access_key: the ``AccessKeyId``.
        secret_key: the secret key (never printed).
    """

    access_key: str
    secret_key: str = field(repr=False)

    def signer(self) -> Signer:
        """Return the protocol signer for this key."""
        return Signer(self.access_key, secret_key=self.secret_key)


@dataclass(frozen=True, slots=True, init=False)
class Ed25519Auth:
    """An Ed25519 API key: access key plus private key.

    Args:
        access_key: the ``AccessKeyId`` naming the registered public key.
        private_key: an ``Ed25519PrivateKey``, or a PKCS#8 PEM (``str`` or ``bytes``).
    """

    access_key: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __init__(self, access_key: str, private_key: Ed25519PrivateKey | str | bytes) -> None:
        """Load the private key (PEM text is parsed here, once)."""
        key = (
            private_key
            if isinstance(private_key, Ed25519PrivateKey)
            else load_ed25519_private_key(private_key)
        )
        object.__setattr__(self, "access_key", access_key)
        object.__setattr__(self, "private_key", key)

    def signer(self) -> Signer:
        """Return the protocol signer for this key."""
        return Signer(self.access_key, private_key=self.private_key)


Credentials = HmacAuth | Ed25519Auth
"""Either kind of API key accepted by the clients."""


def load_ed25519_private_key(pem: str | bytes) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key.

    Raises:
        ValueError: the PEM is not an unencrypted Ed25519 private key.
    """
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the PEM key is not an Ed25519 private key")
    return key
