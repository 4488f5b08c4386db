"""Encryption of API secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256) with the server key."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    """Encrypt and decrypt API secrets with a key derived from the configured server key."""

    __slots__ = ("_fernet",)

    def __init__(self, server_key: str) -> None:
        """Derive the Fernet key from ``server_key`` (any non-empty string)."""
        if not server_key:
            raise ValueError("the server key must not be empty")
        digest = hashlib.sha256(("copytrade-secrets:" + server_key).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def __repr__(self) -> str:
        """Never show the key."""
        return "SecretBox(<hidden>)"

    def encrypt(self, secret: str) -> str:
        """Return the token of ``secret``."""
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the secret of a token; a token from another server key raises ValueError."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("API secret cannot be decrypted with this server key") from exc
