"""Caches keyed by client input stay under a byte budget, whatever clients send."""

from __future__ import annotations

import secrets

from copytrade.api.auth import KEY_CACHE_BYTES, MISS_CACHE_BYTES, Authenticator
from copytrade.protocol import signing
from copytrade.protocol.memo import BoundedMemo


def test_a_memo_never_holds_more_than_its_byte_budget() -> None:
    memo: BoundedMemo[str, str] = BoundedMemo(max_bytes=64 << 10, max_item_bytes=4096)
    for _ in range(5000):
        text = secrets.token_hex(1000)  # 2,000 characters each
        memo.remember(text, text)
        memo.remember(text[:100], text[:100])
        assert memo.bytes <= 64 << 10
    assert 0 < len(memo) < 5000


def test_signing_memos_stay_bounded_under_unique_large_values() -> None:
    # start empty: the memos are per process, and earlier tests' short values would count
    for memo in (signing._encoded, signing._decoded, signing._pairs):
        memo.clear()
    big = "%41" * 4000  # 12 KB percent-encoded
    count = 600  # 7.2 MB of values, 2.4 times what the three memos may hold together
    assert count * len(big) > 2 * 3 * signing.MEMO_BYTES
    for i in range(count):
        value = f"{i}{big}"
        pairs = signing.parse_query(
            f"name{i}={value}&AccessKeyId=k%2D{i}&Timestamp=2026-01-01T00%3A00%3A00"
        )
        signing.canonical_query(pairs)
        signing.percent_encode(value)
    assert signing.memo_bytes() <= 3 * signing.MEMO_BYTES
    # a long value is never remembered at all, so the memos hold only the short ones
    assert signing.memo_bytes() < count * 1000


def test_short_recurring_values_are_still_remembered() -> None:
    stamp = "2026-01-01T00%3A00%3A01"
    signing.parse_query(f"Timestamp={stamp}")
    assert stamp in signing._decoded
    signing.canonical_query([("Timestamp", "2026-01-01T00:00:01")])
    assert ("Timestamp", "2026-01-01T00:00:01") in signing._pairs


def test_the_key_caches_stay_bounded_under_unknown_keys() -> None:
    loads = []

    def load(access_key: str) -> None:
        loads.append(access_key)

    auth = Authenticator(load)
    for _ in range(6000):
        auth._key(secrets.token_hex(64))  # 128 characters: the longest key accepted
        assert auth.cache_bytes() <= KEY_CACHE_BYTES + MISS_CACHE_BYTES + (64 << 10)
    assert auth._misses.bytes <= MISS_CACHE_BYTES
    assert len(loads) == 6000
