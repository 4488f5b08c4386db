"""Each family's error policy (spec ``htx-v5-v6.md`` §4.7, §4.8): what a client can notice."""

from __future__ import annotations

import ccxt
import pytest

from copytrade.protocol.error_codes import ErrorCode
from copytrade.protocol.profiles import COPYTRADING, MARKET, SPOT, V5, V5_MARKET, Profile

CCXT_EXACT = ccxt.htx().exceptions["exact"]
FAMILIES = [V5, MARKET, V5_MARKET, SPOT]


@pytest.mark.parametrize("profile", FAMILIES, ids=lambda p: p.name)
@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: str(int(c)))
def test_a_v5_generation_error_with_http_200_carries_a_code_ccxt_maps(
    profile: Profile, code: ErrorCode
) -> None:
    # an unmapped code with HTTP 200 is read by ccxt as a success (spec §4.7 rule 2)
    status, body = profile.failure(code, "tid", 1)
    answered = body.get("code", body.get("err_code"))
    assert status != 200 or str(answered) in CCXT_EXACT


def test_v5_rate_limit_answers_http_429_with_code_1032() -> None:
    status, body = V5.failure(ErrorCode.RATE_LIMITED, "tid", 7)
    assert (status, body["code"], body["data"], body["ts"]) == (429, 1032, None, 7)


def test_v5_names_the_parameter_and_keeps_1066_for_a_missing_contract_code() -> None:
    _, side = V5.failure(ErrorCode.EMPTY_PARAM, "tid", 1, arg="side")
    _, code = V5.failure(ErrorCode.EMPTY_PARAM, "tid", 1, arg="contract_code")
    assert (side["code"], side["message"]) == (1067, "Illegal parameter side.")
    assert (code["code"], code["message"]) == (1066, "contract_code cannot be empty.")


def test_v5_auth_failures_take_the_gateway_shape_with_403_or_1205() -> None:
    stale = V5.auth_failure(ErrorCode.TIMESTAMP_INVALID, "whatever", "tid", 5)
    denied = V5.permission_failure("tid", 5)
    assert stale == {
        "status": "error",
        "err_code": 403,
        "err_msg": "Invalid submission time.",
        "ts": 5,
    }
    assert (denied["err_code"], denied["err_msg"]) == (1205, "API key has no permission")


def test_v1_keeps_its_envelope_and_http_200_for_every_business_error() -> None:
    status, body = COPYTRADING.failure(ErrorCode.RATE_LIMITED, "t" * 32, 1)
    assert status == 200
    assert body == {
        "code": 1032,
        "msg": ErrorCode.RATE_LIMITED.message,
        "data": None,
        "tid": "t" * 32,
        "success": False,
    }


def test_v6_answers_string_codes_and_an_empty_array_on_errors() -> None:
    from copytrade.protocol.profiles import V6

    status, body = V6.failure(ErrorCode.ILLEGAL_PARAM, "tid", 1, arg="instType")
    assert (status, body) == (
        200,
        {"code": "1067", "msg": "Illegal parameter instType.", "data": []},
    )
    assert V6.envelope.parse({"code": "0", "msg": "", "data": []}, 200).ok
    assert not V6.envelope.parse(body, 200).ok
