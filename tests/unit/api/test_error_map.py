"""The one map from domain errors to HTX codes covers every domain error."""

from __future__ import annotations

from decimal import Decimal

import copytrade.domain.errors as domain_errors
import copytrade.service.errors as service_errors
from copytrade.api.errors import domain_error_reply, mapped_error_types
from copytrade.domain.errors import DomainError


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
