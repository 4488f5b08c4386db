"""Fixtures of the cross-process tests (PostgreSQL, Redis)."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(scope="module")
def server_key() -> str:
    """The secret-encryption key every process of the module shares."""
    return secrets.token_hex(32)
