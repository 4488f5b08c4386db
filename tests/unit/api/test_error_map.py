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
