"""The fuzzer: malformed requests to HTX paths and the admin API, answered without a 500, in
HTX's envelope, never with code 1000, and without leaking a traceback or a secret. Opt-in:
``pytest -m faults`` (the full report prints at the end of the session)."""

from __future__ import annotations

import pytest

from faults.fuzz import FuzzFigures

pytestmark = [pytest.mark.faults, pytest.mark.timeout(7200)]


def test_every_case_was_sent(fuzz: FuzzFigures) -> None:
    assert fuzz.cases > 0, fuzz.report()


def test_no_http_500(fuzz: FuzzFigures) -> None:
    assert fuzz.http_500 == 0, fuzz.report("HTTP 500")


def test_htx_paths_always_answer_in_the_envelope(fuzz: FuzzFigures) -> None:
    kinds = ("HTX path without the envelope", "undocumented code")
    assert fuzz.non_envelope == fuzz.undocumented_code == 0, fuzz.report(*kinds)


def test_malformed_input_never_gets_code_1000(fuzz: FuzzFigures) -> None:
    assert fuzz.code_1000 == 0, fuzz.report("code 1000")


def test_known_bad_input_is_refused(fuzz: FuzzFigures) -> None:
    kinds = ("malformed input accepted", "mark at or below zero after an admin call")
    assert fuzz.accepted_invalid == fuzz.bad_marks == 0, fuzz.report(*kinds)


def test_admin_api_answers_json(fuzz: FuzzFigures) -> None:
    assert fuzz.non_json_admin == 0, fuzz.report("admin reply not JSON")


def test_nothing_leaks_a_traceback_or_a_secret(fuzz: FuzzFigures) -> None:
    kinds = ("leak in the reply", "secret in the server log", "traceback in the server log")
    assert fuzz.leaks == fuzz.log_tracebacks == 0, fuzz.report(*kinds)


def test_no_case_breaks_the_server(fuzz: FuzzFigures) -> None:
    assert fuzz.broken_server == 0, fuzz.report("server broken by a case")


def test_every_request_gets_an_answer(fuzz: FuzzFigures) -> None:
    # raw non-ASCII bytes or a head over the cap used to end in a reset before the reply
    assert fuzz.transport_errors == 0, fuzz.report("transport error")
