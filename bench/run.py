"""Benchmark of issue #2: signed place_order + close_all_position cycles vs raw ASGI, and
close_all_position with 100 / 1,000 / 10,000 followers. Prints figures; asserts nothing.

Usage: ``python bench/run.py [--seconds 4] [--pairs 3] [--keys 1000] [--connections 32]``.
The server runs as a separate process (one uvicorn worker, SQLite in WAL mode); both sides of
each A-B pair hit that same process, A on the raw-ASGI ``/_sim/ping``, B on the HTX
paths. A is sent the very bytes B sends (a signed POST with its JSON body).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import loadgen
from harness import CLOSE_ALL, PLACE, Server, Side


def signed(creds: dict[str, object], path: str, body: dict[str, object], host: str) -> bytes:
    """Return a signed POST (see :func:`harness.signed_request`)."""
    return harness.signed_request(creds, host, path, body)


def cycle_scripts(
    keys: list[dict[str, object]], host: str, connections: int
) -> list[list[list[bytes]]]:
    place = {
        "contract_code": "BTC-USDT",
        "amount": "1",
        "margin_mode": "cross",
        "order_price_type": 17,
        "order_direction": 1,
        "lever": 10,
    }
    close = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}
    scripts = [[signed(k, PLACE, place, host), signed(k, CLOSE_ALL, close, host)] for k in keys]
    return [scripts[c::connections] for c in range(connections)]


def throughput(server: Server, args: argparse.Namespace) -> None:
    keys = [
        server.admin("/_sim/users", {"role": "trader", "balance": "1000000000"})
        for _ in range(args.keys)
    ]
    # A: the raw-ASGI endpoint of the same process, sent the very bytes B sends (a signed
    # place_order: same query string, same JSON body), so both sides move the same traffic.
    sample = cycle_scripts(keys[:1], server.host, 1)[0][0][0]
    ping = [[[sample.replace(PLACE.encode(), b"/_sim/ping", 1)]]] * args.connections
    ratios: list[float] = []
    cycle_lat: list[float] = []
    print(
        f"\n(a) throughput, {args.connections} connections, {args.seconds}s per run, "
        f"{args.keys} keys"
    )
    print(f"{'pair':>4} {'raw ASGI req/s':>15} {'HTX req/s':>10} {'ratio':>7}")
    # Warm-up (not counted): every key's first request loads its key and account.
    loadgen.run(
        "127.0.0.1", server.port, cycle_scripts(keys, server.host, args.connections), args.seconds
    )
    for pair in range(args.pairs):
        scripts = cycle_scripts(keys, server.host, args.connections)
        runs = {}
        order = ("raw", "htx") if pair % 2 == 0 else ("htx", "raw")
        for name in order:
            if name == "raw":
                runs[name] = loadgen.run("127.0.0.1", server.port, ping, args.seconds)
            else:
                runs[name] = loadgen.run("127.0.0.1", server.port, scripts, args.seconds)
        raw, htx = runs["raw"], runs["htx"]
        if htx.errors:
            print(f"     HTX errors: {htx.errors}")
        ratio = htx.rate / raw.rate
        ratios.append(ratio)
        cycle_lat.extend(htx.latencies)
        print(f"{pair + 1:>4} {raw.rate:>15.0f} {htx.rate:>10.0f} {ratio:>7.3f}")
    print(
        f"ratio mean {statistics.mean(ratios):.3f}, spread {min(ratios):.3f}–{max(ratios):.3f}"
        f" (target >= 0.15)"
    )
    lat = loadgen.Result(latencies=cycle_lat)
    p50, p99 = lat.percentile(0.5), lat.percentile(0.99)
    print(
        f"\n(b) HTX request latency under that load: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"p99/p50 {p99 / p50:.2f} (target <= 4)"
    )


def close_all_fanout(server: Server, counts: list[int]) -> None:
    print("\n(c) close_all_position with N followers (one request, client round trip)")
    print(f"{'followers':>9} {'place_order (copies)':>21} {'close_all_position':>19}")
    for n in counts:
        trader = server.admin("/_sim/users", {"role": "trader", "balance": "1000000000"})
        server.admin(
            "/_sim/followers/bulk",
            {"trader_uid": trader["uid"], "count": n, "balance": "1000000", "ratio": "1"},
        )
        place = {
            "contract_code": "ETH-USDT",
            "amount": "2",
            "margin_mode": "isolated",
            "order_price_type": 17,
            "order_direction": 1,
            "lever": 5,
        }
        t_open, body = loadgen.one(
            "127.0.0.1", server.port, signed(trader, PLACE, place, server.host)
        )
        assert body.startswith(b'{"code":200'), body
        close = {"contract_code": "ETH-USDT", "margin_mode": "isolated", "position_side": "long"}
        t_close, body = loadgen.one(
            "127.0.0.1", server.port, signed(trader, CLOSE_ALL, close, server.host)
        )
        assert body.startswith(b'{"code":200'), body
        print(f"{n:>9} {t_open * 1000:>18.1f} ms {t_close * 1000:>16.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--followers", default="100,1000,10000")
    parser.add_argument("--sync", default="NORMAL", help="SQLite synchronous (NORMAL or FULL)")
    parser.add_argument(
        "--log-level", default="warning", help="server's; info writes a line per request"
    )
    args = parser.parse_args()
    side = Side("installed")
    with (
        harness.database(side, None) as url,
        Server(
            side,
            url,
            env={"COPYTRADE_SQLITE_SYNCHRONOUS": args.sync},
            log_level=args.log_level,
        ) as server,
    ):
        print(
            f"copytrade bench: 1 worker, SQLite WAL synchronous={args.sync}, {os.cpu_count()} CPUs"
        )
        throughput(server, args)
        close_all_fanout(server, [int(x) for x in args.followers.split(",") if x])


if __name__ == "__main__":
    main()
