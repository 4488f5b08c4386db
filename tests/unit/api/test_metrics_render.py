"""The single-process metrics (plain numbers) render as Prometheus expects them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from copytrade.api.metrics import ServerMetrics

PATH = "/copytrading/trader/place_order"


def samples(metrics: ServerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_requests_latency_and_refusals_render_as_counters_and_a_histogram() -> None:
    metrics = ServerMetrics()
    metrics.request(PATH, b"200", 0.001)  # on a bucket's bound: counted in it (le)
    metrics.request(PATH, b"200", 0.0004)
    metrics.request(PATH, b"1032", 3.0)  # above every bound: +Inf only
    got = samples(metrics)
    assert got[("copytrade_requests_total", (("code", "200"), ("endpoint", PATH)))] == 2
    assert got[("copytrade_requests_total", (("code", "1032"), ("endpoint", PATH)))] == 1
    assert got[("copytrade_rate_limit_refusals_total", (("endpoint", PATH),))] == 1
    bucket = "copytrade_request_seconds_bucket"
    assert got[(bucket, (("endpoint", PATH), ("le", "0.0005")))] == 1
    assert got[(bucket, (("endpoint", PATH), ("le", "0.001")))] == 2
    assert got[(bucket, (("endpoint", PATH), ("le", "2.5")))] == 2
    assert got[(bucket, (("endpoint", PATH), ("le", "+Inf")))] == 3
    assert got[("copytrade_request_seconds_count", (("endpoint", PATH),))] == 3
    assert abs(got[("copytrade_request_seconds_sum", (("endpoint", PATH),))] - 3.0014) < 1e-9


def test_commit_groups_and_the_service_port_render() -> None:
    metrics = ServerMetrics()
    metrics.commit_group(3, 0.002)
    metrics.fan_out("open", 2, 0.0001)
    metrics.copies_skipped(["insufficient_margin", "below_minimum", "insufficient_margin"])
    got = samples(metrics)
    assert got[("copytrade_commit_group_calls_bucket", (("le", "2.0"),))] == 0
    assert got[("copytrade_commit_group_calls_bucket", (("le", "5.0"),))] == 1
    assert got[("copytrade_commit_seconds_sum", ())] == 0.002
    assert got[("copytrade_copy_fan_out_followers_sum", (("kind", "open"),))] == 2
    skipped = "copytrade_copies_skipped_total"
    assert got[(skipped, (("reason", "insufficient_margin"),))] == 2
    assert got[(skipped, (("reason", "below_minimum"),))] == 1
