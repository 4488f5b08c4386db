"""``copytrade serve`` / ``migrate``: every configuration mistake ends in one line, exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from copytrade.cli.main import main


@pytest.fixture(autouse=True)
def _no_env_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DB_URL", "PORT", "HOST", "REDIS_URL", "CONFIG", "SETTINGS_JSON"):
        monkeypatch.delenv(f"COPYTRADE_{name}", raising=False)


def serve(*args: str) -> Result:
    return CliRunner().invoke(main, ["serve", *args])


def assert_one_line_error(result: Result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0]
    return errors[0]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return str(path)


def test_a_database_path_is_refused_with_the_url_to_write_instead() -> None:
    result = serve("--db", "copytrade.db")
    assert_one_line_error(result, "is a path", "sqlite:///copytrade.db")
    assert len(result.output.splitlines()) == 1


def test_migrate_refuses_a_path_the_same_way() -> None:
    result = CliRunner().invoke(main, ["migrate", "--db", "copytrade.db"])
    assert_one_line_error(result, "sqlite:///copytrade.db")


@pytest.mark.parametrize("url", ["://x", "postgresql://u@h:notaport/db"])
def test_an_unparsable_url_is_one_line(url: str) -> None:
    assert_one_line_error(serve("--db", url), "is not a database URL")


def test_postgresql_without_the_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    result = serve("--db", "postgresql://u@127.0.0.1:1/x")
    assert_one_line_error(result, "PostgreSQL", "[postgres] extra", "pip install")


def test_redis_without_the_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    result = serve("--redis", "redis://127.0.0.1:1/0", "--db", "sqlite:///:memory:")
    assert_one_line_error(result, "--redis", "[postgres] extra")


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = serve("--config", str(tmp_path / "nope.toml"))
    assert_one_line_error(result, "cannot read config file", "nope.toml", "No such file")


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    result = serve("--config", write(tmp_path, "port = \n"))
    assert_one_line_error(result, "is not valid TOML", "line 1")


def test_a_value_of_the_wrong_type_names_the_key(tmp_path: Path) -> None:
    result = serve("--config", write(tmp_path, 'port = "abc"\n'))
    assert_one_line_error(result, "port:", "valid integer", "'abc'")


def test_a_partial_contract_names_the_missing_field(tmp_path: Path) -> None:
    text = '[[contracts]]\ncontract_code = "BTC-USDT"\ncontract_size = "0.001"\n'
    result = serve("--config", write(tmp_path, text))
    line = assert_one_line_error(result, "contracts[0].price_tick: Field required")
    assert "contracts[0].lever_max: Field required" in line
    assert "contracts[0].mark_price: Field required" in line
    assert "contracts.0" not in line  # one notation, the TOML-like one an unknown key uses too


def test_an_unknown_key_is_refused_with_the_nearest_name(tmp_path: Path) -> None:
    result = serve("--config", write(tmp_path, "prot = 9000\n"))
    assert_one_line_error(result, "unknown key prot", "did you mean port?")


def test_an_unknown_contract_key_is_refused_with_the_nearest_name(tmp_path: Path) -> None:
    text = '[[contracts]]\ncontract_code = "BTC-USDT"\nprice_tik = "0.1"\n'
    result = serve("--config", write(tmp_path, text))
    assert_one_line_error(result, "contracts[0].price_tik", "did you mean contracts[0].price_tick?")


def test_a_bad_value_in_the_second_contract_names_it_as_the_file_does(tmp_path: Path) -> None:
    good = 'contract_size = "0.001"\nprice_tick = "0.1"\nlever_max = 10\nmark_price = "60000"\n'
    text = f'[[contracts]]\ncontract_code = "BTC-USDT"\n{good}'
    bad = good.replace("= 10", '= "ten"')
    text += f'[[contracts]]\ncontract_code = "ETH-USDT"\n{bad}'
    result = serve("--config", write(tmp_path, text))
    assert_one_line_error(result, "contracts[1].lever_max: Input should be a valid integer")


def test_an_unknown_key_of_a_contract_path_names_the_nearest_path_setting(tmp_path: Path) -> None:
    text = (
        '[[contracts]]\ncontract_code = "BTC-USDT"\ncontract_size = "0.001"\n'
        'price_tick = "0.1"\nlever_max = 10\nmark_price = "60000"\n'
        '[contracts.path]\nkind = "gbm"\nvolatilty = "0.5"\n'
    )
    result = serve("--config", write(tmp_path, text))
    assert_one_line_error(
        result,
        "contracts[0].path.volatilty: unknown setting",
        "did you mean contracts[0].path.volatility?",
    )


def test_an_environment_contract_is_named_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYTRADE_CONTRACTS", '[{"contract_code": "X", "price_tik": "1"}]')
    line = assert_one_line_error(serve(), "environment: contracts[0].contract_size: Field required")
    assert "contracts[0].price_tik: unknown setting (did you mean contracts[0].price_tick?)" in line


def test_an_unknown_env_setting_is_ignored_but_a_bad_one_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COPYTRADE_BASE_URL", "http://x")  # the CLI's, not a server setting
    monkeypatch.setenv("COPYTRADE_PORT", "eighty")
    assert_one_line_error(serve(), "environment: port:", "'eighty'")


def test_log_level_choices_are_checked_by_the_parser() -> None:
    result = serve("--log-level", "verbose")
    assert result.exit_code == 2
    assert "Invalid value for '--log-level'" in result.output
    assert "Traceback" not in result.output


def test_log_format_choices_are_checked_by_the_parser() -> None:
    result = serve("--log-format", "xml")
    assert result.exit_code == 2
    assert "Invalid value for '--log-format'" in result.output


def test_help_lists_the_environment_variables() -> None:
    for args in ([], ["serve"]):
        text = CliRunner().invoke(main, [*args, "--help"]).output
        for name in ("COPYTRADE_BASE_URL", "COPYTRADE_ACCESS_KEY", "COPYTRADE_SECRET_KEY"):
            assert name in text
        assert "COPYTRADE_ADMIN_TOKEN" in text
        assert "COPYTRADE_CONFIG" in text
