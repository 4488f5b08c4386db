"""The dashboard's HTML: rendered on the server from an :class:`Overview`, charts as inline SVG.

No template engine, no JavaScript framework, nothing fetched from elsewhere: the page is one
HTML document with inline CSS and a ten-line polling script that swaps in the ``live``
fragment (the same renderer), so the page also reads without JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from copytrade.domain.enums import PositionSide
from copytrade.domain.trading import Market
from copytrade.protocol.decimals import fmt
from copytrade.service.overview import LeadSlippage, Overview, TraderRow

Point = tuple[int, Decimal]
_BOOK_LEVELS = 5
_CENT = Decimal("0.01")


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S")


def _money(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return f"{value.quantize(_CENT):,}"


def _signed(value: Decimal | None) -> str:
    if value is None:
        return "<td class='num'>–</td>"
    kind = "up" if value > 0 else "down" if value < 0 else ""
    sign = "+" if value > 0 else ""
    return f"<td class='num {kind}'>{sign}{_money(value)}</td>"


def _side(side: PositionSide | str) -> str:
    text = side.value if isinstance(side, PositionSide) else side
    kind = "up" if text in ("long", "buy") else "down"
    return f"<td><span class='tag {kind}'>{escape(text)}</span></td>"


def _uids(trader: TraderRow) -> str:
    shown = ", ".join(str(uid) for uid in trader.first_followers)
    more = trader.followers - len(trader.first_followers)
    return shown + (f" +{more}" if more > 0 else "") if shown else ""


def _table(title: str, head: Sequence[str], rows: Iterable[str], *, key: str) -> str:
    body = "".join(rows)
    if not body:
        body = f"<tr><td class='empty' colspan='{len(head)}'>none yet</td></tr>"
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    return (
        f"<section class='card' data-section='{key}'><h2>{escape(title)}</h2>"
        f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def price_chart(points: Sequence[Point], width: int = 300, height: int = 80) -> str:
    """Return an inline SVG line chart of ``(ms, price)`` points (flat with one point)."""
    if not points:
        return ""
    if len(points) == 1:
        points = [(points[0][0] - 1, points[0][1]), points[0]]
    prices = [p for _, p in points]
    low, high = min(prices), max(prices)
    span = high - low or max(abs(high) / 1000, Decimal(1))
    t0, t1 = points[0][0], points[-1][0]
    width_ms = (t1 - t0) or 1
    pad, labels = 6, 52  # the right-hand strip holds the high and low labels
    coords = []
    for ms, price in points:
        x = pad + (width - labels - 2 * pad) * (ms - t0) / width_ms
        y = pad + (height - 2 * pad) * float((high - price) / span) if high != low else height / 2
        coords.append(f"{x:.1f},{y:.1f}")
    last_x, last_y = coords[-1].split(",")
    area = f"{pad},{height - pad} " + " ".join(coords) + f" {last_x},{height - pad}"
    return (
        f"<svg class='chart' viewBox='0 0 {width} {height}' width='{width}' height='{height}' "
        f"role='img' aria-label='mark price history'>"
        f"<polygon points='{area}' class='area'/>"
        f"<polyline points='{' '.join(coords)}' class='line'/>"
        f"<circle cx='{last_x}' cy='{last_y}' r='3' class='dot'/>"
        f"<line x1='{width - labels}' y1='{pad}' x2='{width - labels}' y2='{height - pad}' "
        "class='axis'/>"
        f"<text x='{width - 2}' y='{pad + 8}' class='lbl'>{escape(fmt(high))}</text>"
        f"<text x='{width - 2}' y='{height - pad}' class='lbl'>{escape(fmt(low))}</text>"
        "</svg>"
    )


def _book(market: Market) -> str:
    asks = list(market.book.asks[:_BOOK_LEVELS])[::-1]
    bids = list(market.book.bids[:_BOOK_LEVELS])
    rows = [
        f"<tr class='ask'><td>{fmt(lv.price)}</td><td class='num'>{fmt(lv.volume)}</td></tr>"
        for lv in asks
    ]
    rows.append(f"<tr class='mid'><td colspan='2'>mark {fmt(market.mark)}</td></tr>")
    rows += [
        f"<tr class='bid'><td>{fmt(lv.price)}</td><td class='num'>{fmt(lv.volume)}</td></tr>"
        for lv in bids
    ]
    return f"<table class='book'>{''.join(rows)}</table>"


def _market_card(code: str, market: Market, history: Sequence[Point]) -> str:
    bid = fmt(market.book.bids[0].price) if market.book.bids else "–"
    ask = fmt(market.book.asks[0].price) if market.book.asks else "–"
    return (
        f"<div class='market' data-contract='{escape(code)}'>"
        f"<div class='mhead'><b>{escape(code)}</b>"
        f"<span class='mark'>{fmt(market.mark)}</span></div>"
        f"<div class='muted'>bid {bid} · ask {ask}</div>"
        f"{price_chart(history)}{_book(market)}</div>"
    )


def _distribution(buckets: dict[str, int]) -> str:
    """Return a bucket histogram as inline bars (width by share of the copies)."""
    total = sum(buckets.values()) or 1
    bars = "".join(
        f"<span class='bucket' title='{escape(label)} bps: {n}'>"
        f"<span class='bar' style='width:{round(48 * n / total)}px'></span>"
        f"<span class='blabel'>{escape(label)}</span> <b>{n}</b></span>"
        for label, n in buckets.items()
    )
    return f"<div class='dist'>{bars}</div>"


def _slippage_row(s: LeadSlippage) -> str:
    lead = s.lead
    return (
        f"<tr class='slip' data-lead='{lead.sub_position_id}'><td>{lead.uid}</td>"
        f"<td>{escape(lead.contract_code)}</td>{_side(lead.side)}"
        f"<td class='num'>{fmt(lead.open_avg_price)}</td><td class='num'>{s.stats.copies}</td>"
        f"<td class='num'>{s.stats.mean_bps}</td><td class='num'>{s.stats.worst_bps}</td>"
        f"<td class='num'>{' '.join(f'{k} {v}' for k, v in s.stats.percentiles.items())}</td>"
        f"<td class='wrap'>{_distribution(s.stats.distribution)}</td></tr>"
    )


def render_live(view: Overview, history: dict[str, list[Point]]) -> str:
    """Return the ``live`` fragment: every section of the dashboard for one snapshot."""
    rows = view.rows
    markets = "".join(
        _market_card(code, market, history.get(code, [])) for code, market in view.markets.items()
    )
    traders = (
        f"<tr data-uid='{t.uid}'><td>{t.uid}</td><td class='num'>{_money(t.balance)}</td>"
        f"<td class='wrap'><b>{t.followers}</b> <span class='muted'>{_uids(t)}</span></td>"
        f"<td class='num'>{t.open_positions}</td>"
        f"{_signed(t.unrealised_pnl)}</tr>"
        for t in rows.traders
    )
    positions = (
        f"<tr><td>{p.uid}</td><td>{'copy of ' + str(p.lead_uid) if p.lead_uid else 'lead'}</td>"
        f"<td>{escape(p.contract_code)}</td>{_side(p.side)}<td class='num'>{fmt(p.volume)}</td>"
        f"<td class='num'>{fmt(p.open_avg_price)}</td>"
        f"<td class='num'>{fmt(p.mark) if p.mark is not None else '–'}</td>"
        f"{_signed(p.unrealised_pnl)}</tr>"
        for p in rows.positions
    )
    copies = (
        f"<tr class='copy'><td>{_time(c.open_time)}</td><td>{c.follower_uid}</td>"
        f"<td>{c.lead_uid}</td><td>{escape(c.contract_code)}</td>{_side(c.side)}"
        f"<td class='num'>{fmt(c.volume)} / {fmt(c.lead_volume)}</td>"
        f"<td class='num'>{fmt(c.follower_price)}</td><td class='num'>{fmt(c.lead_price)}</td>"
        f"<td class='num'>{c.slippage_bps}</td><td>{'open' if c.is_open else 'closed'}</td></tr>"
        for c in rows.copies
    )
    skips = (
        f"<tr class='skip'><td>{_time(s.ts)}</td><td>{s.follower_uid}</td><td>{s.trader_uid}</td>"
        f"<td>{escape(s.contract_code)}</td>{_side(s.side)}"
        f"<td class='num'>{fmt(s.wanted_volume)}</td>"
        f"<td><span class='tag warn'>{escape(s.reason)}</span></td>"
        f"<td class='detail'>{escape(s.detail)}</td></tr>"
        for s in rows.skips
    )
    fills = (
        f"<tr><td>{_time(f.ts)}</td><td>{f.uid}</td><td>{escape(f.contract_code)}</td>"
        f"{_side(f.side)}<td>{escape(f.offset)}</td><td class='num'>{fmt(f.price)}</td>"
        f"<td class='num'>{fmt(f.volume)}</td><td class='num'>{fmt(f.fee)}</td></tr>"
        for f in rows.fills
    )
    slippage = (_slippage_row(s) for s in view.slippage)
    stats = (
        f"<div class='stats'><span><b>{rows.users}</b> users</span>"
        f"<span><b>{len(rows.traders)}</b> traders</span>"
        f"<span><b>{rows.open_positions}</b> open positions</span>"
        f"<span>sim clock <b>{_time(view.now_ms)}</b> UTC</span></div>"
    )
    return (
        f"{stats}<section class='card'><h2>Markets</h2><div class='markets'>{markets}</div>"
        "</section><div class='grid'>"
        + _table(
            "Traders",
            ["uid", "balance", "followers", "open", "unrealised PnL"],
            traders,
            key="traders",
        )
        + _table(
            "Open positions",
            ["uid", "kind", "contract", "side", "volume", "entry", "mark", "unrealised PnL"],
            positions,
            key="positions",
        )
        + "</div>"
        + _table(
            "Copies (follower vs lead fill price)",
            [
                "opened",
                "follower",
                "lead",
                "contract",
                "side",
                "volume / lead",
                "follower price",
                "lead price",
                "diff bps",
                "state",
            ],
            copies,
            key="copies",
        )
        + _table(
            "Copy slippage (open copies vs their lead, bps; positive: worse)",
            [
                "lead",
                "contract",
                "side",
                "lead price",
                "copies",
                "mean",
                "worst",
                "percentiles",
                "distribution",
            ],
            slippage,
            key="slippage",
        )
        + _table(
            "Skipped copies",
            ["time", "follower", "lead", "contract", "side", "wanted", "reason", "detail"],
            skips,
            key="skips",
        )
        + _table(
            "Recent fills",
            ["time", "uid", "contract", "side", "offset", "price", "volume", "fee"],
            fills,
            key="fills",
        )
    )


_CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,sans-serif;
color:#1d2330;background:#eef1f5}header{background:#151b26;color:#fff;padding:12px 24px;
display:flex;align-items:center;gap:16px}header h1{font-size:18px;margin:0}
header a{color:#9ec1ff;margin-left:auto}#status{font-size:12px;color:#b9c2d0}
#status.off{color:#ff8b8b}main{padding:16px 24px;max-width:1400px;margin:0 auto}
.stats{display:flex;gap:24px;margin:0 0 12px;color:#4a5366}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(20,30,50,.12);
padding:12px 16px;margin:0 0 16px;overflow-x:auto}
h2{font-size:15px;margin:0 0 8px}.grid{display:grid;grid-template-columns:1fr 1.6fr;gap:16px}
.markets{display:flex;flex-wrap:wrap;gap:12px}.market{border:1px solid #e3e7ee;
border-radius:8px;padding:10px;width:322px}.mhead{display:flex;justify-content:space-between}
.mark{font-size:18px;font-weight:600}.muted{color:#6b7486;font-size:12px}
table{border-collapse:collapse;width:100%}th{font-size:11px;text-transform:uppercase;
letter-spacing:.04em;color:#6b7486;text-align:left;padding:4px 8px;border-bottom:1px solid #e3e7ee}
td{padding:4px 8px;border-bottom:1px solid #f0f2f6;white-space:nowrap}.num{text-align:right;
font-variant-numeric:tabular-nums}.up{color:#12805c}.down{color:#c0392b}
.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;background:#eef1f5}
.tag.up{background:#e3f5ec}.tag.down{background:#fbe9e7}.tag.warn{background:#fff4d6;color:#8a5a00}
.wrap{white-space:normal}.detail{white-space:normal;color:#4a5366;font-size:12px}.empty{color:#98a0ae;text-align:center}
.chart{display:block;margin:6px 0}.chart .line{fill:none;stroke:#2d5fa8;stroke-width:2}
.chart .area{fill:#2d5fa8;opacity:.08}.chart .dot{fill:#2d5fa8}
.chart .lbl{font-size:10px;fill:#6b7486;text-anchor:end}.chart .axis{stroke:#e3e7ee}
.book{font-size:12px;margin-top:4px}.book td{padding:1px 8px;border:0}
.book .ask td:first-child{color:#c0392b}.book .bid td:first-child{color:#12805c}
.book .mid td{text-align:center;color:#6b7486;border-top:1px dashed #e3e7ee;
border-bottom:1px dashed #e3e7ee}
.dist{display:flex;flex-wrap:wrap;gap:2px 10px;font-size:12px}.bucket{white-space:nowrap}
.bar{display:inline-block;height:8px;background:#2d5fa8;opacity:.6;vertical-align:middle;
margin-right:3px}.blabel{color:#6b7486}
@media(max-width:900px){.grid{grid-template-columns:1fr}}
"""

_SCRIPT = """
const live=document.getElementById('live'),status=document.getElementById('status');
let busy=false;
async function refresh(){
  if(busy||document.hidden)return;busy=true;
  try{const r=await fetch('/_sim/ui/live',{cache:'no-store',credentials:'same-origin'});
    if(!r.ok)throw new Error(r.status);live.innerHTML=await r.text();
    status.textContent='live \\u00b7 updated '+new Date().toLocaleTimeString();status.className='';
  }catch(e){status.textContent='server unreachable, retrying';status.className='off';}
  finally{busy=false;}
}
setInterval(refresh,%d);
"""


def render_page(live: str, poll_ms: int) -> str:
    """Return the whole dashboard page around a rendered ``live`` fragment."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<link rel='icon' href='data:,'>"  # no /favicon.ico request (a 404 in console and log)
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>copytrade sandbox</title><style>{_CSS}</style></head><body>"
        "<header><h1>copytrade sandbox</h1><span id='status'>live</span>"
        "<a href='/_sim/docs'>admin API docs</a></header>"
        f"<main id='live'>{live}</main><script>{_SCRIPT % poll_ms}</script></body></html>"
    )


def render_login(error: str | None = None) -> str:
    """Return the token form shown when the dashboard needs the admin token."""
    note = f"<p class='down'>{escape(error)}</p>" if error else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<link rel='icon' href='data:,'>"  # no /favicon.ico request (a 404 in console and log)
        f"<title>copytrade sandbox</title><style>{_CSS}</style></head><body>"
        "<header><h1>copytrade sandbox</h1></header><main><section class='card'>"
        "<h2>Admin token required</h2><p>This server has an admin token "
        "(<code>COPYTRADE_ADMIN_TOKEN</code>). Enter it to open the dashboard.</p>"
        f"{note}<form method='post' action='/_sim/ui/login'>"
        "<input type='password' name='token' autocomplete='current-password' size='40'> "
        "<button type='submit'>Open</button></form></section></main></body></html>"
    )
