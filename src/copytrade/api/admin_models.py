"""Request and reply models of the admin API (``/_sim/``): one declaration per shape.

Requests are validated here (unknown keys refused, ids within 63 bits, amounts bounded, the
clock kept within a sane range, Ed25519 keys checked); the models also feed the OpenAPI
document at ``/_sim/openapi.json``. Amounts arrive as a JSON number or a decimal string and
leave as a decimal string, as everywhere on the wire.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from copytrade.api.keycheck import ed25519_key_problem
from copytrade.protocol.decimals import parse_decimal_text

MAX_ID = 2**63 - 1
"""Every id (UID, position, order) is a signed 64-bit integer, so at most 2^63 − 1."""
MAX_AMOUNT = Decimal(10) ** 18
"""No balance, price or ratio is this large; exact arithmetic on larger ones could overflow."""
MAX_CLOCK_MS = 4_102_444_800_000
"""The simulation clock stays before 2100-01-01T00:00:00Z (and at or after the epoch)."""
MAX_BULK = 100_000


def _integer(value: Any) -> Any:
    """Accept a JSON integer, a string of digits (optional ``-``) or an integral number."""
    if isinstance(value, bool):
        raise PydanticCustomError("integer", "must be an integer, not true or false")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value) if abs(value) < 10**30 else _too_long()
    if isinstance(value, str) and value.isascii() and 0 < len(value) <= 30:
        digits = value[1:] if value.startswith("-") else value
        if digits.isdigit():
            return int(value)
    raise PydanticCustomError("integer", "must be an integer (a JSON integer or a digit string)")


def _too_long() -> Any:
    raise PydanticCustomError("integer", "is far outside the allowed range")


def _decimal(value: Any) -> Any:
    """Accept a JSON number or a plain decimal string; refuse NaN, infinities, huge values."""
    parsed: Decimal | None = None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, str) and len(value) <= 64:
        parsed = parse_decimal_text(value)
    if parsed is None or not parsed.is_finite():
        raise PydanticCustomError(
            "decimal", 'must be a decimal number (a JSON number or a string such as "12.5")'
        )
    if abs(parsed) >= MAX_AMOUNT:
        raise PydanticCustomError("decimal", "must be less than 10^18 in magnitude")
    return parsed


# Constraints come before the validator in ``Annotated`` so that they reach the JSON schema.
_INT = BeforeValidator(_integer)
_DEC = BeforeValidator(_decimal)
_DEC_DOC = 'A decimal: JSON number or string such as "10000".'
Uid = Annotated[
    int,
    Field(ge=1, le=MAX_ID, description="A UID (1 … 2^63 − 1); a JSON integer or digit string."),
    _INT,
]
DecimalText = Annotated[str, Field(description='An exact decimal as a string, e.g. "60500.1".')]


class _Request(BaseModel):
    """Unknown keys are refused, so that a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class _Reply(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- requests ------------------------------------------------------------------------------


class CreateUserRequest(_Request):
    """A new trader or follower with a funded account and one API key."""

    role: Literal["trader", "follower"] = "trader"
    permissions: Literal["trade", "read"] = Field(
        "trade", description="`trade` keys may place orders; `read` keys only query."
    )
    balance: Annotated[
        Decimal,
        Field(
            ge=0,
            description="The copy-trading account (the copy engine trades from it). " + _DEC_DOC,
        ),
        _DEC,
    ] = Decimal(10_000)
    spot: Annotated[
        Decimal, Field(ge=0, description="The spot USDT balance. " + _DEC_DOC), _DEC
    ] = Decimal(0)
    futures: Annotated[
        Decimal, Field(ge=0, description="The USDT-M futures balance. " + _DEC_DOC), _DEC
    ] = Decimal(0)
    ed25519_public_key: str | None = Field(
        None,
        description="Raw Ed25519 public key (64 hex characters): the key signs with Ed25519 "
        "and no HMAC secret is made.",
    )
    profit_share_ratio: Annotated[Decimal, Field(ge=0, le=1), _DEC] | None = Field(
        None, description="A trader's profit share (0 … 1); the server's default when absent."
    )

    @field_validator("ed25519_public_key")
    @classmethod
    def _usable_key(cls, value: str | None) -> str | None:
        if value is not None:
            problem = ed25519_key_problem(value)
            if problem is not None:
                raise PydanticCustomError("ed25519", problem)
            return value.lower()
        return value


_POSITIVE = Annotated[Decimal, Field(gt=0, description=_DEC_DOC), _DEC]
_FUNDS = Annotated[Decimal, Field(ge=0, description=_DEC_DOC), _DEC]


class FundsRequest(_Request):
    """Set any of a UID's three USDT balances; those left out keep their value (spec §6.6).

    ``balance`` is the copy-trading account, the one the copy engine trades from and v1/v5 keys
    see; ``spot`` and ``futures`` are reached by transfers (v1 ``account_transfer``, v6
    ``transfer``, ``/v2/account/transfer``).
    """

    balance: _FUNDS | None = None
    spot: _FUNDS | None = None
    futures: _FUNDS | None = None

    @model_validator(mode="after")
    def _something(self) -> FundsRequest:
        if self.balance is None and self.spot is None and self.futures is None:
            raise PydanticCustomError("funds", "give at least one of balance, spot, futures")
        return self


def _contract_codes(value: Any) -> Any:
    """Accept a list of contract codes (case-insensitive); return them upper-case, unique."""
    if not isinstance(value, list):
        raise PydanticCustomError("contracts", "must be a list of contract codes")
    codes: list[str] = []
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= 32:
            raise PydanticCustomError(
                "contracts", "each contract code is a string of 1 to 32 characters"
            )
        code = item.strip().upper()
        if code not in codes:
            codes.append(code)
    if not codes:
        raise PydanticCustomError("contracts", "must name at least one contract (or be null)")
    return codes


_Contracts = Annotated[
    list[str],
    Field(max_length=64, description='Contract codes, e.g. `["BTC-USDT"]`.'),
    BeforeValidator(_contract_codes),
]


# The settings fields a follow is started with and changed by (one declaration each).
_FIXED_AMOUNT = Annotated[
    _POSITIVE | None, Field(description="USDT per copied open (fixed_amount)")
]
_TP_RATIO = Annotated[
    _POSITIVE | None,
    Field(description="A copy closes on its own at PnL / margin ≥ tp_ratio (close_type 8)."),
]
_SL_RATIO = Annotated[
    _POSITIVE | None,
    Field(description="A copy closes on its own at PnL / margin ≤ −sl_ratio (close_type 9)."),
]
_TOTAL_STOP_LOSS = Annotated[
    _POSITIVE | None,
    Field(
        description="USDT: at this much copy loss the follow stops and its copies close "
        "(close_type 10)."
    ),
]
_MAX_SLIPPAGE = Annotated[
    Annotated[Decimal, Field(ge=0, le=1, description=_DEC_DOC), _DEC] | None,
    Field(
        description="Skip a market copy expected worse than the lead's price by more than this "
        "fraction (0.01 = 1 %), reason `slippage`; the venue's limit, when stricter, wins."
    ),
]


class CopySettings(_Request):
    """A follower's copy settings (spec §8.1), shared by the calls that start follows."""

    mode: Literal["ratio", "fixed_amount"] = Field(
        "ratio",
        description="`ratio`: each copy is floor(ratio × lead change); `fixed_amount`: each "
        "copied lead open commits `fixed_amount` USDT of margin.",
    )
    fixed_amount: _FIXED_AMOUNT = None
    tp_ratio: _TP_RATIO = None
    sl_ratio: _SL_RATIO = None
    total_stop_loss: _TOTAL_STOP_LOSS = None
    contracts: _Contracts | None = Field(
        None, description="Copy only these contracts (others are skipped with their reason)."
    )
    max_slippage: _MAX_SLIPPAGE = None


class FollowRequest(CopySettings):
    """Make a follower copy a trader, with the follower's copy settings (spec §8.1)."""

    follower_uid: Uid
    trader_uid: Uid
    ratio: Annotated[Decimal, Field(gt=0, description=_DEC_DOC), _DEC] = Decimal(1)


class FollowSettingsRequest(_Request):
    """Change a follower's settings: only the fields given change, ``null`` clears one.

    ``ratio`` and ``mode`` cannot be cleared. Switching ``mode`` to ``ratio`` drops the fixed
    amount. The new TP/SL ratios and total stop-loss apply at once, at the current marks.
    """

    trader_uid: Uid | None = Field(
        None, description="When given, the call is refused unless the follower follows this trader."
    )
    ratio: Annotated[Decimal, Field(gt=0, description=_DEC_DOC), _DEC] | None = None
    mode: Literal["ratio", "fixed_amount"] | None = None
    fixed_amount: _FIXED_AMOUNT = None
    tp_ratio: _TP_RATIO = None
    sl_ratio: _SL_RATIO = None
    total_stop_loss: _TOTAL_STOP_LOSS = None
    contracts: _Contracts | None = Field(
        None, description="Copy only these contracts; `null`: every contract."
    )
    max_slippage: _MAX_SLIPPAGE = None

    def changes(self) -> dict[str, Any]:
        """Return the settings this request changes (given fields; ``None`` clears)."""
        return {name: getattr(self, name) for name in self.model_fields_set if name != "trader_uid"}


class BulkFollowersRequest(CopySettings):
    """Create ``count`` funded followers of one trader in one transaction, alike.

    Each follows with ``ratio`` and the copy settings given (as ``/_sim/follow`` takes them).
    """

    trader_uid: Uid
    count: Annotated[int, Field(ge=0, le=MAX_BULK), _INT]
    balance: Annotated[Decimal, Field(ge=0, description=_DEC_DOC), _DEC] = Decimal(10_000)
    ratio: Annotated[Decimal, Field(gt=0, description=_DEC_DOC), _DEC] = Decimal(1)


class SetPriceRequest(_Request):
    """Move a contract's mark price (rounded to the contract's tick, at least one tick)."""

    price: Annotated[Decimal, Field(gt=0, description=_DEC_DOC), _DEC]


class PathRequest(_Request):
    """Give a market a price path that moves its mark on the simulation clock.

    ``fixed`` stops it. ``gbm`` / ``walk``: a seeded geometric Brownian motion / arithmetic
    random walk (in units of the starting mark) with annualised ``volatility`` and ``drift``,
    one tick every ``tick_ms``. ``replay``: the rows of ``csv`` (``timestamp_ms,price`` or
    ``timestamp_ms,open,high,low,close``), the first row at once, the rest at their offsets.
    The path starts now from the current mark; every tick goes through the same move as
    ``/price`` (resting orders, TP/SL and liquidations fire).
    """

    kind: Literal["fixed", "gbm", "walk", "replay"]
    seed: Annotated[int, Field(ge=0, le=MAX_ID), _INT] = 0
    volatility: Annotated[Decimal, Field(ge=0, le=100, description=_DEC_DOC), _DEC] = Decimal(0)
    drift: Annotated[Decimal, Field(ge=-100, le=100, description=_DEC_DOC), _DEC] = Decimal(0)
    tick_ms: Annotated[int, Field(ge=1, le=MAX_CLOCK_MS), _INT] = 1000
    csv: str | None = Field(None, description="The replay's rows (kind `replay` only).")

    @model_validator(mode="after")
    def _csv_with_replay(self) -> Self:
        if (self.kind == "replay") != (self.csv is not None):
            raise PydanticCustomError("path", "csv is given with kind replay, and only then")
        return self


class ClockRequest(_Request):
    """Advance the clock, freeze it at a time, or resume it (``now_ms: null``)."""

    advance_ms: Annotated[int, Field(ge=-MAX_CLOCK_MS, le=MAX_CLOCK_MS), _INT] | None = Field(
        None, description="Move the clock by this many milliseconds (negative moves back)."
    )
    now_ms: Annotated[int, Field(ge=0, le=MAX_CLOCK_MS), _INT] | None = Field(
        None,
        description="Freeze the clock at this epoch millisecond; `null` resumes it running.",
    )

    @model_validator(mode="after")
    def _one_action(self) -> Self:
        if {"advance_ms", "now_ms"} <= self.model_fields_set:
            raise PydanticCustomError("clock", "give advance_ms or now_ms, not both")
        if "advance_ms" in self.model_fields_set and self.advance_ms is None:
            raise PydanticCustomError("clock", "advance_ms must be an integer")
        return self


_RATE = Annotated[
    Decimal, Field(ge=Decimal("-0.0075"), le=Decimal("0.0075"), description=_DEC_DOC), _DEC
]


class FundingRequest(_Request):
    """Change how funding settles (spec §7.11); keys left out keep their value.

    ``mode``: ``off`` (no settlement), ``rate`` (each market's rate, else ``default_rate``)
    or ``premium`` (HTX's premium-index formula over the current book). ``interval_hours``:
    settlements every this many hours from 00:00 UTC. ``rates``: per-market rates (a
    ``null`` rate removes one).
    """

    mode: Literal["off", "rate", "premium"] | None = None
    interval_hours: Annotated[int, Field(ge=1, le=24 * 7), _INT] | None = None
    default_rate: _RATE | None = None
    rates: dict[str, _RATE | None] | None = None
    impact_volume: Annotated[Decimal, Field(gt=0, description=_DEC_DOC), _DEC] | None = None


class ImpactRequest(_Request):
    """Change market impact on copies; keys left out keep their value.

    ``half_life_ms`` 0 turns impact off (the market maker re-quotes at once); a new half-life
    starts from a full book. ``copy_order``: ``follow_time`` (who followed first copies first)
    or ``shuffle`` (seeded per lead position with ``seed``). ``copy_latency_ms``: simulation
    time between the lead's fill and its copies (depth comes back, a price path moves the
    mark meanwhile). ``max_slippage``: skip a copy (reason
    ``slippage``) expected worse than the lead by more than this fraction; ``null``: no guard.
    """

    half_life_ms: Annotated[int, Field(ge=0, le=MAX_CLOCK_MS), _INT] | None = None
    copy_order: Literal["follow_time", "shuffle"] | None = None
    seed: Annotated[int, Field(ge=0, le=MAX_ID), _INT] | None = None
    copy_latency_ms: Annotated[int, Field(ge=0, le=MAX_CLOCK_MS), _INT] | None = None
    max_slippage: Annotated[Decimal, Field(ge=0, le=1, description=_DEC_DOC), _DEC] | None = None


# --- replies -------------------------------------------------------------------------------


class ErrorReply(BaseModel):
    """Every refused admin call: what is wrong, and which field (``null`` when none)."""

    error: str
    field: str | None = None


class HealthReply(_Reply):
    """Liveness, and what the process that answered runs on."""

    status: Literal["ok"] = Field(description="Always `ok`: the process serves.")
    version: str = Field(description="copytrade's version.")
    worker: int = Field(
        description="The process's snowflake worker number (several with `--workers N`)."
    )
    store: str = Field(description="`memory`, `sqlite` or `postgresql`.")
    database: str = Field(description="The store's URL, without a password.")
    schema_revision: str | None = Field(
        description="The database's migration revision (`null` in memory or when unreachable)."
    )
    schema_head: str | None = Field(description="The revision this server needs.")
    database_state: str = Field(description="`ok`, or `unreachable (why)`.")
    redis: str = Field(description="`ok`, `not configured`, or `unreachable (why)`.")


class ReadyReply(HealthReply):
    """Readiness (HTTP 200 or 503), with the process's health."""

    ready: bool = Field(description="Whether the database and Redis (if configured) can serve.")
    problems: list[str] = Field(description="Why the process is not ready (empty when ready).")


class CreateUserReply(_Reply):
    """The new UID and its API key; the secret is shown once, here."""

    uid: int
    access_key: str
    secret_key: str | None = Field(description="HMAC secret; `null` for an Ed25519 key.")


class FollowReply(_Reply):
    """A follow with its settings (the one made, or a follower's current one)."""

    follower_uid: int
    trader_uid: int
    ratio: DecimalText
    mode: str = "ratio"
    fixed_amount: DecimalText | None = None
    tp_ratio: DecimalText | None = None
    sl_ratio: DecimalText | None = None
    total_stop_loss: DecimalText | None = None
    contracts: list[str] | None = None
    max_slippage: DecimalText | None = None


class FundsReply(_Reply):
    """A UID's three USDT balances after the change."""

    uid: int
    balance: DecimalText = Field(description="The copy-trading account.")
    spot: DecimalText
    futures: DecimalText


class FollowSettingsReply(FollowReply):
    """The follow with its new settings, and what applying them at the current marks did."""

    copy_exits: int = Field(description="Copies closed at once by their TP/SL ratio (8/9).")
    stopped: bool = Field(
        description="The total stop-loss was reached: the follow ended, its copies closed (10)."
    )
    copies_stopped: int = Field(description="Copies closed by the total stop-loss.")


class BulkFollowersReply(_Reply):
    """The followers' new UIDs."""

    uids: list[int]


class MarketQuote(_Reply):
    """A contract's mark price and the simulated market maker's best quotes."""

    mark_price: DecimalText
    best_bid: DecimalText | None
    best_ask: DecimalText | None


class MarketsReply(RootModel[dict[str, MarketQuote]]):
    """Every contract's quote, by contract code."""


class SetPriceReply(_Reply):
    """The new mark and what it set off."""

    contract_code: str
    mark_price: DecimalText
    orders_filled: int
    tpsl_triggered: int
    liquidated: int
    copy_exits: int = Field(
        0, description="Follower copies closed by their own TP/SL ratio (close_type 8/9)."
    )
    follows_stopped: int = Field(
        0, description="Follows ended by their total stop-loss (copies closed, close_type 10)."
    )
    algo_triggered: int = Field(
        0, description="v5 trigger and trailing orders the move fired whose order was placed."
    )


class PathReply(_Reply):
    """A market's price path: its parameters, when it started and its next tick."""

    contract_code: str
    kind: str
    seed: int | None = None
    volatility: DecimalText | None = None
    drift: DecimalText | None = None
    tick_ms: int | None = None
    rows: int | None = Field(None, description="Ticks in a replay (four per OHLC bar).")
    start_ms: int | None = Field(description="When the path started (`null`: not started).")
    origin: DecimalText | None = Field(description="The mark it started from.")
    ticks_applied: int
    next_tick_ms: int | None = Field(description="`null` when the path has no more ticks.")


class LeadSlippage(_Reply):
    """One open lead sub position and how its copies' open prices compare with its own."""

    lead_sub_position_id: str
    contract_code: str
    position_side: str
    lead_price: DecimalText
    lead_volume: DecimalText
    copies: int
    mean_bps: DecimalText | None
    worst_bps: DecimalText | None
    best_bps: DecimalText | None
    distribution: dict[str, int] = Field(
        description="Copies per slippage bucket in basis points (positive: worse than the lead)."
    )
    percentiles: dict[str, DecimalText] = Field(
        description="`p50`, `p90`, `p99` of the copies' slippage in basis points (nearest rank; "
        "`{}` without copies)."
    )


class SlippageReply(_Reply):
    """A trader's open lead positions with their copies' slippage."""

    trader_uid: int
    positions: list[LeadSlippage]


class SettlementView(_Reply):
    """One funding settlement this process applied."""

    at_ms: int
    payments: int
    paid: DecimalText = Field(description="What positions paid, summed.")
    received: DecimalText = Field(description="What positions received, summed.")
    venue: DecimalText = Field(description="The market maker's side: paid − received.")
    liquidated: int


class FundingReply(_Reply):
    """Funding settings, each market's rate for the next settlement, and recent settlements."""

    mode: str
    interval_hours: int
    default_rate: DecimalText
    rates: dict[str, DecimalText] = Field(description="Each market's rate as things stand.")
    impact_volume: DecimalText | None
    last_settled_ms: int | None
    next_settlement_ms: int
    settlements: list[SettlementView]


class ImpactReply(_Reply):
    """Market impact settings."""

    enabled: bool
    half_life_ms: int
    copy_order: str
    seed: int
    copy_latency_ms: int
    max_slippage: DecimalText | None


class ClockReply(_Reply):
    """The simulation clock's time (epoch milliseconds)."""

    now_ms: int


class ResetReply(_Reply):
    """Everything deleted; markets (and on loopback the demo users) seeded again."""

    reset: bool


def _struct_list(name: str) -> WithJsonSchema:
    """Return the schema of a list of a declared structure.

    The schema of a list of a structure declared in :mod:`copytrade.protocol.sim` (built
    from that declaration by :func:`copytrade.api.admin_openapi.struct_schemas`).
    """
    return WithJsonSchema({"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}})


SimPositions = Annotated[list[dict[str, Any]], _struct_list("SimPosition")]
SimOrders = Annotated[list[dict[str, Any]], _struct_list("SimOrder")]


class FollowingView(_Reply):
    """Whom a follower copies, and with which settings."""

    trader_uid: int
    ratio: DecimalText
    mode: str = "ratio"
    fixed_amount: DecimalText | None = None
    tp_ratio: DecimalText | None = None
    sl_ratio: DecimalText | None = None
    total_stop_loss: DecimalText | None = None
    contracts: list[str] | None = None


class FillView(_Reply):
    """One fill of the user's."""

    trade_id: int
    order_id: int | None
    sub_position_id: int
    contract_code: str
    side: str
    offset: str
    price: DecimalText
    volume: DecimalText
    fee: DecimalText
    ts: int


class SkippedCopyView(_Reply):
    """A copy the engine did not make, and why."""

    trader_uid: int
    follower_uid: int
    lead_sub_position_id: int
    contract_code: str
    wanted_volume: DecimalText
    reason: str
    detail: str
    ts: int


class ProfitShareView(_Reply):
    """A profit share paid by a follower to a trader."""

    trader_uid: int
    follower_uid: int
    lead_sub_position_id: int
    amount: DecimalText
    ts: int


class UserReply(_Reply):
    """A user's balance, positions, orders and history."""

    uid: int
    role: str
    balance: DecimalText = Field(description="The copy-trading account.")
    spot: DecimalText
    futures: DecimalText
    positions: SimPositions
    open_orders: SimOrders
    following: FollowingView | None
    closed_positions: SimPositions
    fills: list[FillView]
    skipped_copies: list[SkippedCopyView]
    profit_shares_received: list[ProfitShareView]
    profit_shares_paid: list[ProfitShareView]
