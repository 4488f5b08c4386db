"""``copytrade demo``: the figures on screen add up."""

from __future__ import annotations

from decimal import Decimal

from click.testing import CliRunner

from copytrade.cli.main import main


def test_demo_balances_add_up_from_start_pnl_fees_and_profit_share() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("role"))
    rows = [line.split() for line in lines[header + 1 : header + 5]]
    assert [r[0] for r in rows] == ["trader", "follower", "follower", "follower"]
    shares = Decimal(0)
    for role, _uid, ratio, volume, start, gross, fees, share, balance in rows:
        assert Decimal(start) + Decimal(gross) - Decimal(fees) + Decimal(share) == Decimal(balance)
        assert Decimal(fees) > 0
        shares += Decimal(share)
        if role == "follower":
            assert Decimal(share) < 0  # a profitable follower pays the trader
            assert Decimal(volume) == 20 * Decimal(ratio)
    assert shares == 0  # what the trader received is what the followers paid
    # the profit share is 10% of each follower's net profit (gross PnL minus fees)
    for _role, _uid, _ratio, _volume, _start, gross, fees, share, _balance in rows[1:]:
        assert -Decimal(share) == (Decimal(gross) - Decimal(fees)) * Decimal("0.1")
