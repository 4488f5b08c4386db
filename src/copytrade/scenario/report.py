"""What a scenario left: PnL per account, copies, skips, slippage, liquidations; and checks.

Equity is the wallet plus isolated margins plus unrealised PnL at the final marks; PnL is
equity less the starting balance. Slippage compares each copy's open price with its lead
sub position's, in basis points, positive when the copy paid more (long) or got less (short).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from copytrade.domain.enums import CloseType, MarginMode, PositionSide
from copytrade.domain.impact import bps_distribution, bps_percentiles, slippage_bps
from copytrade.domain.model import Account, SubPosition
from copytrade.scenario.model import Expect, Scenario
from copytrade.service.context import ServiceContext

_ZERO = Decimal(0)


@dataclass(slots=True)
class Population:
    """Who the run made: traders by name (uid, start balance), follower groups (uids, balance)."""

    traders: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    followers: dict[str, tuple[list[int], Decimal]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupLine:
    """One trader, or one follower group summed."""

    name: str
    kind: str
    accounts: int
    start: Decimal
    equity: Decimal
    pnl: Decimal
    worst_pnl: Decimal
    copies: int
    liquidations: int
    funding: Decimal = _ZERO
    """Funding received, net (negative: paid)."""


@dataclass(slots=True)
class Report:
    """A scenario's outcome, and which of its expectations failed."""

    name: str
    lines: list[GroupLine]
    marks: dict[str, Decimal]
    copies: int
    liquidations: int
    skips: dict[str, int]
    slippage_bps: dict[str, Any]
    errors: list[str]
    closes: dict[str, int] = field(default_factory=dict)
    funding: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Return whether every expectation held."""
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        """Return the report as plain JSON (decimals as strings)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        result: dict[str, Any] = plain(
            {
                "name": self.name,
                "accounts": [
                    {s: getattr(line, s) for s in GroupLine.__slots__} for line in self.lines
                ],
                "marks": self.marks,
                "copies": self.copies,
                "liquidations": self.liquidations,
                "skips": self.skips,
                "closes": self.closes,
                "slippage_bps": self.slippage_bps,
                "funding": self.funding,
                "errors": self.errors,
                "passed": self.passed,
                "failures": self.failures,
            }
        )
        return result

    def render(self) -> str:
        """Return the report for people."""
        out = [f"scenario: {self.name}", ""]
        head = (
            "account",
            "kind",
            "n",
            "start",
            "equity",
            "pnl",
            "worst pnl",
            "copies",
            "liq",
            "funding",
        )
        rows = [
            (
                ln.name,
                ln.kind,
                str(ln.accounts),
                str(ln.start),
                f"{ln.equity:.2f}",
                f"{ln.pnl:.2f}",
                f"{ln.worst_pnl:.2f}",
                str(ln.copies),
                str(ln.liquidations),
                f"{ln.funding:.4f}",
            )
            for ln in self.lines
        ]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        for r in [head, *rows]:
            out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        out += ["", "marks: " + ", ".join(f"{c} {p}" for c, p in sorted(self.marks.items()))]
        out.append(f"copies: {self.copies}   liquidations: {self.liquidations}")
        skips = ", ".join(f"{r} {n}" for r, n in sorted(self.skips.items())) or "none"
        out.append(f"skipped copies: {skips}")
        closes = ", ".join(f"{r} {n}" for r, n in sorted(self.closes.items())) or "none"
        out.append(f"closed positions: {closes}")
        s = self.slippage_bps
        if s["copies"]:
            out.append(
                f"copy slippage (bps vs lead): mean {s['mean']}, worst {s['worst']}, "
                + ", ".join(f"{k} {v}" for k, v in s["percentiles"].items())
                + "; copies per bucket: "
                + ", ".join(f"{k}: {v}" for k, v in s["distribution"].items())
            )
        f = self.funding
        if f.get("settlements"):
            out.append(
                f"funding: {f['settlements']} settlements, {f['payments']} payments; positions "
                f"paid {f['paid']}, received {f['received']}; venue {f['venue']}"
            )
        out += [f"error: {e}" for e in self.errors]
        out.append("")
        out += [f"FAILED: {f}" for f in self.failures] or ["expectations: all met"]
        return "\n".join(out)


def _equity(account: Account, marks: dict[str, Decimal], ctx: ServiceContext) -> Decimal:
    total = account.balance
    for p in account.positions.values():
        if p.margin_mode is MarginMode.ISOLATED:
            total += p.position_margin
        mark = marks.get(p.contract_code)
        if mark is not None:
            sign = 1 if p.side is PositionSide.LONG else -1
            total += (
                sign
                * (mark - p.open_avg_price)
                * p.volume
                * ctx.spec(p.contract_code).contract_size
            )
    return total


def build_report(
    scenario: Scenario, ctx: ServiceContext, population: Population, errors: list[str]
) -> Report:
    """Read the store a run left and check the scenario's expectations against it."""
    every = [uid for uid, _ in population.traders.values()]
    every += [u for uids, _ in population.followers.values() for u in uids]
    with ctx.uow() as uow:
        accounts = uow.accounts.get_many(every)
    with ctx.reads() as reads:
        marks = dict(reads.marks())
        history = {uid: reads.user_report(uid) for uid in every}
    positions: dict[int, list[SubPosition]] = {
        uid: [*accounts[uid].positions.values(), *history[uid].closed_positions] for uid in every
    }
    by_id = {p.sub_position_id: p for ps in positions.values() for p in ps}

    funding_rows = [f for uid in every for f in history[uid].fills if f.offset == "funding"]
    net: dict[int, Decimal] = {}
    for f in funding_rows:
        net[f.uid] = net.get(f.uid, _ZERO) - f.fee

    def line(name: str, kind: str, uids: list[int], start: Decimal) -> GroupLine:
        pnls = [_equity(accounts[u], marks, ctx) - start for u in uids]
        return GroupLine(
            name,
            kind,
            len(uids),
            start * len(uids),
            sum((_equity(accounts[u], marks, ctx) for u in uids), _ZERO),
            sum(pnls, _ZERO),
            min(pnls, default=_ZERO),
            sum(1 for u in uids for p in positions[u] if p.lead_uid is not None),
            sum(1 for u in uids for p in positions[u] if p.close_type is CloseType.LIQUIDATION),
            sum((net.get(u, _ZERO) for u in uids), _ZERO),
        )

    lines = [line(n, "trader", [uid], bal) for n, (uid, bal) in population.traders.items()]
    lines += [line(n, "followers", uids, bal) for n, (uids, bal) in population.followers.items()]
    skips = Counter(s.reason.value for uid in every for s in history[uid].skipped_copies)
    pairs = [
        (p, by_id[p.lead_sub_position_id])
        for ps in positions.values()
        for p in ps
        if p.lead_sub_position_id is not None and p.lead_sub_position_id in by_id
    ]
    slips = [
        slippage_bps(lead.open_avg_price, p.open_avg_price, p.side is PositionSide.LONG)
        for p, lead in pairs
    ]
    report = Report(
        scenario.name,
        lines,
        marks,
        sum(ln.copies for ln in lines),
        sum(ln.liquidations for ln in lines),
        dict(sorted(skips.items())),
        {
            "copies": len(slips),
            "mean": (sum(slips, _ZERO) / len(slips)).quantize(Decimal("0.01")) if slips else None,
            "worst": max(slips, default=None),
            "distribution": bps_distribution(slips),
            "percentiles": bps_percentiles(slips),
        },
        errors,
        dict(
            sorted(
                Counter(
                    p.close_type.name.lower()
                    for ps in positions.values()
                    for p in ps
                    if p.close_type is not None
                ).items()
            )
        ),
    )
    received = sum((-f.fee for f in funding_rows if f.fee < 0), _ZERO)
    paid = sum((f.fee for f in funding_rows if f.fee > 0), _ZERO)
    report.funding = {
        "settlements": len({f.ts for f in funding_rows}),
        "payments": len(funding_rows),
        "paid": paid,
        "received": received,
        "venue": paid - received,
    }
    report.failures = check(scenario, report)
    return report


def check(scenario: Scenario, report: Report) -> list[str]:
    """Return each declared expectation the report does not meet."""
    e = scenario.expect
    failed: list[str] = []
    if e.copies is not None and report.copies != e.copies:
        failed.append(f"copies: expected {e.copies}, got {report.copies}")
    if e.liquidations_min is not None and report.liquidations < e.liquidations_min:
        failed.append(
            f"liquidations: expected at least {e.liquidations_min}, got {report.liquidations}"
        )
    if e.liquidations_max is not None and report.liquidations > e.liquidations_max:
        failed.append(
            f"liquidations: expected at most {e.liquidations_max}, got {report.liquidations}"
        )
    for reason, count in e.skips.items():
        if report.skips.get(reason, 0) != count:
            failed.append(f"skips {reason}: expected {count}, got {report.skips.get(reason, 0)}")
    for kind, count in e.closes.items():
        if report.closes.get(kind, 0) != count:
            failed.append(f"closes {kind}: expected {count}, got {report.closes.get(kind, 0)}")
    for code, mark in e.final_marks.items():
        if report.marks.get(code) != mark:
            failed.append(f"mark {code}: expected {mark}, got {report.marks.get(code)}")
    worst = report.slippage_bps["worst"]
    if (
        e.max_copy_slippage_bps is not None
        and worst is not None
        and worst > e.max_copy_slippage_bps
    ):
        failed.append(f"copy slippage: worst {worst} bps > {e.max_copy_slippage_bps}")
    failed += _check_impact_and_funding(e, report)
    pnl = {ln.name: ln.pnl for ln in report.lines if ln.kind == "trader"}
    failed += [
        f"{n}: PnL {pnl.get(n)} is not positive"
        for n in e.traders_pnl_positive
        if not pnl.get(n, _ZERO) > 0
    ]
    failed += [
        f"{n}: PnL {pnl.get(n)} is not negative"
        for n in e.traders_pnl_negative
        if not pnl.get(n, _ZERO) < 0
    ]
    if report.errors:
        failed.append(f"{len(report.errors)} action(s) refused")
    return failed


def _check_impact_and_funding(e: Expect, report: Report) -> list[str]:
    """Return the slippage-floor and funding expectations the report does not meet."""
    failed: list[str] = []
    mean = report.slippage_bps["mean"]
    floor = e.min_mean_copy_slippage_bps
    if floor is not None and (mean is None or mean < floor):
        failed.append(f"copy slippage: mean {mean} bps < {floor}")
    settlements = report.funding.get("settlements", 0)
    if e.funding_settlements is not None and settlements != e.funding_settlements:
        failed.append(f"funding settlements: expected {e.funding_settlements}, got {settlements}")
    funding = {ln.name: ln.funding for ln in report.lines}
    failed += [
        f"{n}: funding {funding.get(n)} is not paid"
        for n in e.funding_payers
        if not funding.get(n, _ZERO) < 0
    ]
    failed += [
        f"{n}: funding {funding.get(n)} is not received"
        for n in e.funding_receivers
        if not funding.get(n, _ZERO) > 0
    ]
    return failed
