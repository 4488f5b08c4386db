"""The one map from domain errors to HTX codes covers every domain error."""

from __future__ import annotations

from decimal import Decimal

import copytrade.domain.errors as domain_errors
import copytrade.service.errors as service_errors
from copytrade.api.errors import domain_error_reply, mapped_error_types
from copytrade.domain.errors import DomainError
from copytrade.protocol.error_codes import ErrorCode, message


def _all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_every_domain_error_has_an_htx_code() -> None:
    # both modules that define domain errors are imported above, so all subclasses exist here
    missing = {c.__name__ for c in _all_subclasses(DomainError)} - {
        c.__name__ for c in mapped_error_types()
    }
    assert not missing, f"add these to api/errors.py: {sorted(missing)}"


def test_mapped_errors_keep_htx_codes_and_messages() -> None:
    assert domain_error_reply(domain_errors.InsufficientMargin(Decimal(2), Decimal(1))) == (
        1047,
        "Insufficient margin available.",
    )
    assert domain_error_reply(domain_errors.PositionNotFound("x")) == (
        1046,
        "The position for this contract does not exist.",
    )
    assert domain_error_reply(domain_errors.UnknownContract("X"))[0] == 1014
    assert domain_error_reply(service_errors.UnknownUser(1))[0] == 12009


def test_v1_domain_errors_keep_the_codes_their_spec_sections_name() -> None:
    one = Decimal(1)
    replies = {
        name: domain_error_reply(error)[0]
        for name, error in {
            "tpsl without triggers": domain_errors.TriggerMissing(),
            "leverage with resting orders": domain_errors.LeverChangeBlocked("BTC-USDT", "x", 1),
            "margin without isolated position": domain_errors.NoIsolatedPosition("BTC-USDT", "x"),
            "transfer type": domain_errors.InvalidTransferType(5),
            "transfer amount": domain_errors.InvalidTransferAmount(one),
            "transfer precision": domain_errors.TransferPrecision(one, 8),
            "transfer currency": domain_errors.UnknownCurrency("BTC"),
            "transfer short": domain_errors.InsufficientTransferable(one, one),
            "unknown follower": domain_errors.UnknownFollower("x"),
            "illegal amount": domain_errors.IllegalParameter("amount", one),
        }.items()
    }
    assert replies == {
        "tpsl without triggers": 1066,
        "leverage with resting orders": 1045,
        "margin without isolated position": 4006,
        "transfer type": 1315,
        "transfer amount": 1322,
        "transfer precision": 1331,
        "transfer currency": 10000,
        "transfer short": 1301,
        "unknown follower": 1067,
        "illegal amount": 1067,
    }
    assert domain_error_reply(domain_errors.TriggerMissing())[1] == (
        "tp_trigger_price cannot be empty."
    )
    assert domain_error_reply(domain_errors.IllegalParameter("amount", one))[1] == (
        "Illegal parameter amount."
    )


def test_tp_and_sl_messages_say_which_side_of_the_latest_price() -> None:
    above = domain_errors.InvalidTakeProfit(Decimal(59000), Decimal(60000), above=True)
    below = domain_errors.InvalidStopLoss(Decimal(61000), Decimal(60000), above=False)

    assert domain_error_reply(above) == (
        1405,
        "The take-profit price shall not be lower than the latest price 60000",
    )
    assert domain_error_reply(below) == (
        1407,
        "The stop-loss price shall not be higher than the latest price 60000",
    )


def test_each_code_is_declared_once_with_its_message() -> None:
    # an IntEnum member repeating a code would silently become an alias, its message lost
    assert len(ErrorCode.__members__) == len(ErrorCode)
    assert all(code.message for code in ErrorCode)
    assert message(1066, "contract_code") == "contract_code cannot be empty."
    assert message(99999) == ErrorCode.SYSTEM_ERROR.message
