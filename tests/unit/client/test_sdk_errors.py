"""Error mapping (spec §4.3), transport failures, retries and the client-side limiter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from sdk_fakes import ACCESS_KEY, FIXED_NOW, SECRET_KEY, Recorder, envelope, signature_is_valid

from copytrade.client import (
    AsyncClient,
    AuthenticationError,
    BadRequest,
    Client,
    ExchangeError,
    HmacAuth,
    InsufficientFunds,
    InvalidOrder,
    InvalidResponse,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PermissionDenied,
    PositionNotFound,
    PositionSide,
    RateLimit,
    RateLimitExceeded,
    TokenBucket,
    TransportError,
)

TID = "5f0b8e9c1d2a4b3c8e7f6a5b4c3d2e1f"
FIXED_MS = 1719304200000  # FIXED_NOW in epoch ms


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (403, AuthenticationError),
        (12001, AuthenticationError),
        (12009, AuthenticationError),
        (1205, PermissionDenied),
        (1032, RateLimitExceeded),
        (1047, InsufficientFunds),
        (1048, InsufficientFunds),
        (1301, InsufficientFunds),
        (1034, InvalidOrder),
        (1041, InvalidOrder),
        (1349, InvalidOrder),
        (1405, InvalidOrder),
        (1407, InvalidOrder),
        (1030, BadRequest),
        (1066, BadRequest),
        (1067, BadRequest),
        (1014, BadRequest),
        (1505, BadRequest),
        (1046, PositionNotFound),
        (1000, ExchangeError),
        (1090, ExchangeError),
    ],
)
@pytest.mark.parametrize("style", ["copytrading", "legacy"])
def test_error_code_maps_to_its_exception_in_both_envelope_styles(
    code: int, cls: type[ExchangeError], style: str, make_client: Callable[..., Client],
    recorder: Recorder,
) -> None:  # fmt: skip
    if style == "copytrading":
        body = {"code": code, "msg": "boom", "data": None, "tid": TID, "success": False}
    else:
        body = {"status": "error", "err_code": code, "err_msg": "boom", "ts": 1}
    recorder.reply(body)

    with pytest.raises(cls) as info:
        make_client().query_contract()

    error = info.value
    assert type(error) is cls
    assert (error.code, error.msg, error.http_status) == (code, "boom", 200)
    assert error.tid == (TID if style == "copytrading" else None)
    assert '"boom"' in error.body
    assert error.rate_limit is not None
    assert error.rate_limit.limit == 18


def test_message_key_variant_and_string_code_are_read(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply({"code": "1047", "message": "Insufficient margin available.", "success": False})

    with pytest.raises(InsufficientFunds, match="Insufficient margin"):
        make_client().query_contract()


def test_http_error_status_without_json_is_an_exchange_error(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(b"<html>bad gateway</html>", status=502)

    with pytest.raises(ExchangeError) as info:
        make_client().query_contract()

    assert info.value.code is None
    assert info.value.http_status == 502
    assert "bad gateway" in info.value.body


def test_http_404_with_envelope_carries_both_numbers_apart(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply({"code": 404, "msg": "Not Found", "data": None, "tid": TID, "success": False},
                   status=404)  # fmt: skip

    with pytest.raises(ExchangeError) as info:
        make_client().query_contract()

    assert (info.value.code, info.value.http_status) == (404, 404)


def test_not_implemented_endpoint_error_surfaces_as_exchange_error(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply({"code": 1000, "msg": "not implemented yet", "data": None, "tid": TID,
                    "success": False})  # fmt: skip

    with pytest.raises(ExchangeError, match="not implemented"):
        make_client().order_total_detail()


def test_unexpected_data_shape_is_an_invalid_response(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope({"positions": "nope"}))

    with pytest.raises(InvalidResponse) as info:
        make_client().position_list()
    assert info.value.tid == "0c5e2f8a9b7d4e31a6f0c2d4b8e91a73"


def test_non_json_success_status_is_an_invalid_response(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(b"not json")

    with pytest.raises(InvalidResponse):
        make_client().query_contract()


def test_close_all_with_data_false_means_nothing_closed(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope(False))

    with pytest.raises(PositionNotFound) as info:
        make_client().close_all_position(
            contract_code="BTC-USDT", margin_mode=MarginMode.CROSS, position_side=PositionSide.LONG
        )
    assert info.value.code == 1046


def test_close_all_with_error_1046_means_nothing_closed(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply({"code": 1046, "msg": "The position for this contract does not exist.",
                    "data": None, "tid": TID, "success": False})  # fmt: skip

    with pytest.raises(PositionNotFound):
        make_client().close_all_position(
            contract_code="BTC-USDT", margin_mode=MarginMode.CROSS, position_side=PositionSide.LONG
        )


def test_timeout_is_a_transport_error_raised_from_the_httpx_error(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.fail(httpx.ReadTimeout("timed out"))

    with pytest.raises(TransportError) as info:
        make_client().query_contract()

    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert "Signature" not in str(info.value)
    assert SECRET_KEY not in str(info.value)


def test_connection_refused_is_a_transport_error(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.fail(httpx.ConnectError("refused"))

    with pytest.raises(TransportError):
        make_client().position_list()


@pytest.mark.parametrize(
    ("base_url", "htx"),
    [
        ("https://api.hbdm.com", True),
        ("https://api.hbdm.vn", True),
        ("https://api.btcgateway.pro", True),
        ("http://127.0.0.1:8080", False),
        ("https://copytrade.example", False),
    ],
)
def test_an_unreachable_host_gets_the_hint_that_fits_it(
    base_url: str, htx: bool, make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.fail(httpx.ConnectError("[Errno 111] Connection refused"))

    with pytest.raises(TransportError) as info:
        make_client(base_url).position_list()

    text = str(info.value)
    assert (f"cannot reach HTX at {base_url}; check the network" in text) is htx
    assert (f"is a server running at {base_url}?" in text) is not htx


def _rate_limited(reset_ms: int) -> tuple[dict[str, object], dict[str, str]]:
    body = {"code": 1032, "msg": "Maximum number of access attempts exceeded.", "data": None,
            "tid": TID, "success": False}  # fmt: skip
    return body, {"ratelimit-remaining": "0", "ratelimit-reset": str(reset_ms)}


def test_rate_limited_get_is_retried_after_the_window_resets_when_asked(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    sleeps: list[int] = []
    body, headers = _rate_limited(FIXED_MS + 400)
    recorder.reply(body, headers=headers)
    recorder.reply(envelope(["BTC-USDT"]))

    client = make_client(retry_rate_limited_gets=2, sleep=sleeps.append)

    assert client.query_contract() == ("BTC-USDT",)
    assert sleeps == [400]
    assert len(recorder.requests) == 2
    assert all(signature_is_valid(r) for r in recorder.requests)


def test_rate_limited_get_is_not_retried_by_default(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    body, headers = _rate_limited(FIXED_MS + 400)
    recorder.reply(body, headers=headers)

    with pytest.raises(RateLimitExceeded) as info:
        make_client().query_contract()

    assert info.value.rate_limit is not None
    assert info.value.rate_limit.remaining == 0
    assert len(recorder.requests) == 1


def test_rate_limited_get_gives_up_after_the_configured_retries(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    body, headers = _rate_limited(FIXED_MS + 5000)
    for _ in range(3):
        recorder.reply(body, headers=headers)
    sleeps: list[int] = []

    with pytest.raises(RateLimitExceeded):
        make_client(retry_rate_limited_gets=2, sleep=sleeps.append).query_contract()

    assert sleeps == [1000, 1000]  # capped at the interval
    assert len(recorder.requests) == 3


def test_rate_limited_post_is_never_retried(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    body, headers = _rate_limited(FIXED_MS + 400)
    recorder.reply(body, headers=headers)
    recorder.reply(envelope(True))
    sleeps: list[int] = []

    with pytest.raises(RateLimitExceeded):
        make_client(retry_rate_limited_gets=5, sleep=sleeps.append).place_order(
            contract_code="BTC-USDT",
            amount=Decimal(1),
            margin_mode=MarginMode.CROSS,
            order_price_type=OrderPriceType.MARKET,
            order_direction=OrderDirection.BUY,
            lever=5,
        )

    assert len(recorder.requests) == 1
    assert sleeps == []


class FakeMonotonic:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


def _wall(clock: FakeMonotonic, offset_ms: int = 0) -> Callable[[], int]:
    return lambda: offset_ms + clock.ns // 1_000_000


def test_token_bucket_allows_a_burst_of_18_then_waits_for_the_next_window() -> None:
    clock = FakeMonotonic()
    bucket = TokenBucket(18, clock_ns=clock, wall_ms=_wall(clock))

    assert [bucket.reserve() for _ in range(18)] == [0] * 18
    # the server counts per epoch-aligned second: the 19th goes in the next one (+5 ms margin)
    assert bucket.reserve() == 1005
    assert bucket.reserve() == 1005
    clock.ns = 2_000_000_000
    assert bucket.reserve() == 0


def test_token_bucket_never_puts_more_than_18_in_one_server_window() -> None:
    # 18 saved tokens spent at the end of one second, then the refill of the next: a plain
    # bucket let 36 through in ~one window; each window here gets at most 18
    clock = FakeMonotonic()
    bucket = TokenBucket(18, clock_ns=clock, wall_ms=_wall(clock, offset_ms=900))
    sends = []
    for _ in range(60):
        wait = bucket.reserve()
        clock.ns += wait * 1_000_000
        sends.append(900 + clock.ns // 1_000_000)
    per_window: dict[int, int] = {}
    for at in sends:
        per_window[at // 1000] = per_window.get(at // 1000, 0) + 1
    assert max(per_window.values()) <= 18


def test_token_bucket_follows_the_servers_remaining_and_reset() -> None:
    clock = FakeMonotonic()
    bucket = TokenBucket(18, clock_ns=clock, wall_ms=_wall(clock, offset_ms=10_200))
    assert bucket.reserve() == 0
    # another client of the UID used the window: the server says 2 left until 11_000
    bucket.observe(RateLimit(limit=18, interval=1000, remaining=2, reset=11_000))
    assert [bucket.reserve() for _ in range(2)] == [0, 0]
    assert bucket.reserve() == 11_000 - 10_200 + 5
    # a reply from an older window teaches nothing
    bucket.observe(RateLimit(limit=18, interval=1000, remaining=18, reset=10_000))
    assert bucket.reserve() == 805


def test_client_waits_for_the_limiter_before_sending(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    clock = FakeMonotonic()
    sleeps: list[int] = []
    # the fake server's replies say the window ends at FIXED_NOW + 1 s
    wall = _wall(clock, offset_ms=int(FIXED_NOW.timestamp() * 1000))
    bucket = TokenBucket(2, clock_ns=clock, wall_ms=wall)

    def sleep(ms: int) -> None:  # a sleep lets the time pass
        sleeps.append(ms)
        clock.ns += ms * 1_000_000

    client = make_client(rate_limiter=bucket, sleep=sleep)
    for _ in range(3):
        recorder.reply(envelope(["BTC-USDT"]))

    for _ in range(3):
        client.query_contract()

    assert sleeps == [1005]  # two per window: the third waits for the next one


def test_float_amount_is_refused_before_sending(make_client: Callable[..., Client]) -> None:
    with pytest.raises(TypeError, match="Decimal"):
        make_client().account_transfer(amount=1.5, type=1)  # type: ignore[arg-type]


def test_tpsl_order_needs_at_least_one_trigger(make_client: Callable[..., Client]) -> None:
    with pytest.raises(ValueError, match="tp_trigger_price"):
        make_client().tpsl_order(sub_position_id="1")


def test_async_client_shares_the_builders_and_maps_errors(recorder: Recorder) -> None:
    recorder.reply(envelope(True))
    recorder.reply({"code": 1067, "msg": "Illegal parameter margin_mode.", "data": None,
                    "tid": TID, "success": False})  # fmt: skip
    recorder.fail(httpx.ReadTimeout("slow"))

    async def scenario() -> None:
        async with AsyncClient(
            "http://127.0.0.1:8080",
            HmacAuth(ACCESS_KEY, SECRET_KEY),
            transport=httpx.MockTransport(recorder),
            clock=lambda: FIXED_NOW,
        ) as client:
            closed = await client.close_all_position(
                contract_code="BTC-USDT",
                margin_mode=MarginMode.CROSS,
                position_side=PositionSide.LONG,
            )
            assert closed is True
            assert client.last_response is not None
            assert client.last_response.rate_limit is not None
            with pytest.raises(BadRequest):
                await client.query_contract_lever(
                    contract_code="BTC-USDT", margin_mode=MarginMode.CROSS
                )
            with pytest.raises(TransportError):
                await client.query_contract()

    asyncio.run(scenario())
    assert recorder.requests[0].url.path == "/copytrading/trader/close_all_position"
    assert recorder.requests[0].content == (
        b'{"contract_code":"BTC-USDT","margin_mode":"cross","position_side":"long"}'
    )


def test_async_client_retries_rate_limited_gets_with_its_own_sleep(recorder: Recorder) -> None:
    body, headers = _rate_limited(FIXED_MS + 250)
    recorder.reply(body, headers=headers)
    recorder.reply(envelope(["BTC-USDT"]))
    sleeps: list[int] = []

    async def fake_sleep(ms: int) -> None:
        sleeps.append(ms)

    async def scenario() -> tuple[str, ...]:
        async with AsyncClient(
            "http://127.0.0.1:8080",
            HmacAuth(ACCESS_KEY, SECRET_KEY),
            transport=httpx.MockTransport(recorder),
            clock=lambda: FIXED_NOW,
            retry_rate_limited_gets=1,
            sleep=fake_sleep,
        ) as client:
            return await client.query_contract()

    assert asyncio.run(scenario()) == ("BTC-USDT",)
    assert sleeps == [250]
