"""The admin API's "open on loopback" rule parses the bind address instead of matching a prefix."""

from __future__ import annotations

import pytest

from copytrade.config import Settings, is_loopback


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.5.6.7", "localhost", "LOCALHOST", "::1", "[::1]", "::ffff:127.0.0.1"]
)
def test_loopback_addresses_are_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1.nip.io",
        "127.evil.example",
        "localhost.evil.example",
        "0.0.0.0",
        "::",
        "10.0.0.1",
        "::ffff:10.0.0.1",
        "",
    ],
)
def test_names_and_other_addresses_are_not(host: str) -> None:
    assert not is_loopback(host)


def test_settings_bound_to_a_lookalike_name_need_the_admin_token() -> None:
    assert not Settings(host="127.0.0.1.nip.io").is_loopback
    assert Settings(host="127.0.0.1").is_loopback
