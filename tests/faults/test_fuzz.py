"""The fuzzer: malformed requests to HTX paths and the admin API, answered without a 500, in
HTX's envelope, never with code 1000, and without leaking a traceback or a secret. Opt-in:
``pytest -m faults``."""

from __future__ import annotations

import pytest

from faults.fuzz import FuzzFigures

pytestmark = [pytest.mark.faults, pytest.mark.timeout(7200)]


def test_every_case_was_sent(fuzz: FuzzFigures) -> None:
    assert fuzz.cases > 0, fuzz.report()


def test_no_http_500(fuzz: FuzzFigures) -> None:
    assert fuzz.http_500 == 0, fuzz.report()


def test_htx_paths_always_answer_in_the_envelope(fuzz: FuzzFigures) -> None:
    assert fuzz.non_envelope == 0, fuzz.report()
    assert fuzz.undocumented_code == 0, fuzz.report()


def test_malformed_input_never_gets_code_1000(fuzz: FuzzFigures) -> None:
    assert fuzz.code_1000 == 0, fuzz.report()


def test_admin_api_answers_json(fuzz: FuzzFigures) -> None:
    assert fuzz.non_json_admin == 0, fuzz.report()


def test_nothing_leaks_a_traceback_or_a_secret(fuzz: FuzzFigures) -> None:
    assert fuzz.leaks == 0, fuzz.report()
    assert fuzz.log_tracebacks == 0, fuzz.report()


def test_no_case_breaks_the_server(fuzz: FuzzFigures) -> None:
    assert fuzz.broken_server == 0, fuzz.report()
