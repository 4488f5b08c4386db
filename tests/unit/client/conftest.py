"""Fixtures for the SDK unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sdk_fakes import ACCESS_KEY, FIXED_NOW, SECRET_KEY, Recorder

from copytrade.client import Client, HmacAuth


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_client(recorder: Recorder) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def factory(base_url: str = "http://127.0.0.1:8080", **kwargs: Any) -> Client:
        kwargs.setdefault("auth", HmacAuth(ACCESS_KEY, SECRET_KEY))
        kwargs.setdefault("clock", lambda: FIXED_NOW)
        client = Client(base_url, transport=httpx.MockTransport(recorder), **kwargs)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
