"""Price paths from the TOML file: started with the server, refused in one line when unusable."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.testing.server import LiveServer


def _mark(server: LiveServer, code: str) -> Decimal:
    return Decimal(server.admin_get("/_sim/markets")[code]["mark_price"])


def test_a_path_configured_in_toml_starts_with_the_server(tmp_path: Path) -> None:
    rows = tmp_path / "eth.csv"
    rows.write_text("0,3000,3010,2990,3005\n60000,3005,3100,3000,3090\n")
    contract = {
        "contract_code": "ETH-USDT",
        "contract_size": "0.01",
        "price_tick": "0.01",
        "lever_max": 100,
        "mark_price": "3000",
        "path": {"kind": "replay", "csv_file": str(rows)},
    }
    with LiveServer(db_path=tmp_path / "db.sqlite", demo_seed=False, contracts=[contract]) as s:

        def applied() -> Any:
            deadline = time.monotonic() + 10
            path = s.admin_get("/_sim/markets/ETH-USDT/path")
            while path["ticks_applied"] == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
                path = s.admin_get("/_sim/markets/ETH-USDT/path")
            return path

        path = applied()  # the open of the first bar is due as the server starts
        assert (path["kind"], path["rows"], path["ticks_applied"]) == ("replay", 8, 1)
        s.admin("/_sim/clock", {"advance_ms": 200_000})
        assert _mark(s, "ETH-USDT") == Decimal(3090)
        s.admin("/_sim/reset")  # a configured path starts again after a reset
        assert _mark(s, "ETH-USDT") == Decimal(3000)
        assert applied()["ticks_applied"] == 1


def test_a_configured_replay_that_cannot_be_read_is_a_one_line_settings_error(
    tmp_path: Path,
) -> None:
    from copytrade.config import SettingsError, load_settings

    config = tmp_path / "c.toml"
    for path, problem in [
        ('{ kind = "replay" }', "a replay path needs csv_file"),
        (f'{{ kind = "replay", csv_file = "{tmp_path}/none.csv" }}', "cannot read"),
    ]:
        config.write_text(
            '[[contracts]]\ncontract_code = "ETH-USDT"\ncontract_size = "0.01"\n'
            f'price_tick = "0.01"\nlever_max = 100\nmark_price = "3000"\npath = {path}\n'
        )
        with pytest.raises(SettingsError, match=problem) as caught:
            load_settings(str(config))
        assert "contracts[0].path: " in str(caught.value)
        assert "\n" not in str(caught.value)
