"""Contract specifications, fee schedule and the simulated market maker's settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class MarketMaker:
    """How the simulated market maker quotes around the mark price.

    ``spread`` is the relative distance of each best quote from the mark (0.0001 = 1 bp),
    ``step`` the relative distance between levels, ``depth`` contracts per level.
    """

    spread: Decimal = Decimal("0.0001")
    step: Decimal = Decimal("0.0001")
    levels: int = 50
    depth: Decimal = Decimal(1000)


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One USDT-margined perpetual contract (spec §7.2)."""

    contract_code: str
    contract_size: Decimal
    price_tick: Decimal
    lever_min: int
    lever_max: int
    max_order_volume: Decimal = Decimal(100_000)
    adjustment_factor: Decimal = Decimal("0.1")
    copy_enabled: bool = True
    cross_enabled: bool = True
    market_maker: MarketMaker = MarketMaker()


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Maker and taker fee rates (a negative maker rate is a rebate)."""

    maker: Decimal = Decimal("0.0002")
    taker: Decimal = Decimal("0.0006")


DEFAULT_CONTRACTS: tuple[ContractSpec, ...] = (
    ContractSpec("BTC-USDT", Decimal("0.001"), Decimal("0.1"), 1, 200),
    ContractSpec("ETH-USDT", Decimal("0.01"), Decimal("0.01"), 1, 100),
    ContractSpec("DOT-USDT", Decimal(1), Decimal("0.001"), 1, 75),
)

DEFAULT_MARKS: dict[str, Decimal] = {
    "BTC-USDT": Decimal(60500),
    "ETH-USDT": Decimal(3000),
    "DOT-USDT": Decimal(10),
}


def copy_contracts(specs: Iterable[ContractSpec]) -> tuple[str, ...]:
    """Return the codes of the contracts open to copy trading (``query_contract``), in order.

    Opening a lead position elsewhere is refused (1505); closing is always allowed.
    """
    return tuple(spec.contract_code for spec in specs if spec.copy_enabled)
