"""No error reply carries an unfilled ``{n}`` template, whatever path it takes.

Every catalogue code, every domain error's rule and every family's translation (a v5/v6 code
translated to 1067 names no parameter) must give a finished sentence.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import copytrade.domain.errors as domain_errors
import copytrade.service.errors as service_errors
from copytrade.api.errors import domain_error_reply, mapped_error_types
from copytrade.protocol import profiles
from copytrade.protocol.error_codes import ErrorCode, message
from copytrade.protocol.profiles import Profile

PROFILES = [p for p in vars(profiles).values() if isinstance(p, Profile)]
assert service_errors  # imported so that every DomainError subclass exists


def _instance(cls: type[domain_errors.DomainError]) -> domain_errors.DomainError:
    """An instance with a plausible value for each constructor parameter."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    values: dict[str, Any] = {
        p.name: p.default if p.default is not inspect.Parameter.empty else "x" for p in params
    }
    return cls(**values)


def _texts(body: dict[str, Any]) -> list[str]:
    return [str(body[k]) for k in ("msg", "message", "err_msg") if k in body]


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: str(int(c)))
def test_a_code_used_without_values_gives_a_finished_sentence(code: ErrorCode) -> None:
    assert "{" not in code.text()
    assert "{" not in message(int(code))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: str(int(c)))
def test_no_family_answers_a_bare_code_with_a_template(profile: Profile, code: ErrorCode) -> None:
    for arg in (None, "side", "contract_code"):
        _, body = profile.failure(code, "tid", 1, arg=arg)
        texts = _texts(body)
        assert texts, body
        assert all("{" not in t and "}" not in t for t in texts), body


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "error_type", sorted(mapped_error_types(), key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_no_domain_error_reply_leaks_a_template_in_any_family(
    profile: Profile, error_type: type[domain_errors.DomainError]
) -> None:
    code, msg = domain_error_reply(_instance(error_type))
    assert "{" not in msg
    _, body = profile.failure(code, "tid", 1, msg=msg)
    texts = _texts(body)
    assert texts, body
    assert all("{" not in t for t in texts), body


def test_a_code_translated_to_1067_keeps_its_reason_instead_of_a_template() -> None:
    lever = domain_errors.InvalidLever(500, 1, 125)
    code, msg = domain_error_reply(lever)
    _, body = profiles.V5.failure(code, "tid", 1, msg=msg)
    assert (body["code"], body["message"]) == (1067, f"Illegal parameter. {msg}")
    _, bare = profiles.V5.failure(ErrorCode.TP_PRICE, "tid", 1)
    assert bare["message"] == (
        "Illegal parameter. The take-profit price is on the wrong side of the latest price."
    )
