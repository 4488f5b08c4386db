"""Every mistake a newcomer makes with ``copytrade`` ends in one line, and no traceback.

Click printed a usage block of four lines (usage, a hint, a blank line, the error) for a wrong
choice, a missing option or an unknown command; they are now one line that names the help to
read, exit 2. A group called without its subcommand still shows its help.
"""

from __future__ import annotations

import socket

import httpx
import pytest
from click.testing import CliRunner, Result

from copytrade.cli.main import main

CREDS = {"COPYTRADE_ACCESS_KEY": "ak", "COPYTRADE_SECRET_KEY": "sk-not-shown"}


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    clean: dict[str, str | None] = {"COPYTRADE_BASE_URL": None, "COPYTRADE_PROFILE": None}
    return CliRunner().invoke(main, list(args), env={**clean, **(env or {})}, prog_name="copytrade")


def one_line(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("serve", "--log-level", "verbose"), ("'--log-level'", "'verbose'", "copytrade serve")),
        (("serve", "--port", "abc"), ("'--port'", "'abc'")),
        (("serve", "--workers", "0"), ("'--workers'",)),
        (("nope",), ("No such command 'nope'", "(see 'copytrade --help')")),
        (("--bogus",), ("No such option '--bogus'",)),
        (("api", "place-order", "-c", "BTC-USDT"), ("Missing option '--amount'",)),
        (("sim", "users", "create", "--role", "boss"), ("'--role'", "'boss'")),
        (("sim", "price", "BTC-USDT"), ("Missing argument 'PRICE'",)),
    ],
)
def test_a_usage_mistake_is_one_line_naming_the_help_exit_2(
    args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    line = one_line(run(*args))
    for fragment in fragments:
        assert fragment in line
    assert line.endswith(" --help')")


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (
            ("sim", "price", "BTC-USDT", "1", "--url", "http://x"),
            "e.g. copytrade sim --url … price …",
        ),
        (("sim", "users", "show", "7", "--url", "http://x"), "copytrade sim --url … users show …"),
        (
            ("api", "contracts", "--base-url", "http://x"),
            "copytrade api --base-url … contracts …",
        ),
    ],
)
def test_a_group_option_after_the_subcommand_says_where_it_goes(
    args: tuple[str, ...], hint: str
) -> None:
    line = one_line(run(*args))
    assert f"No such option '{args[-2]}'" in line
    assert f"is an option of 'copytrade {args[0]}': put it before the subcommand" in line
    assert hint in line


def test_the_in_memory_store_given_as_a_path_is_pointed_to_its_url() -> None:
    for command in ("serve", "migrate"):
        line = one_line(run(command, "--db", "memory"))
        assert "write memory:// for the in-memory store" in line


def test_a_group_without_its_subcommand_still_shows_its_help() -> None:
    result = run("sim")
    assert result.exit_code == 2
    assert "Commands:" in result.output
    assert "users" in result.output


def test_help_and_version_still_exit_0() -> None:
    assert run("--help").exit_code == 0
    assert run("serve", "--help").exit_code == 0
    assert run("--version").exit_code == 0


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_the_api_cli_without_a_server_says_so_in_one_line(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    result = run("api", "positions", env={**CREDS, "COPYTRADE_BASE_URL": url})
    line = one_line(result, 1)  # the call failed (exit 1); 2 is kept for usage mistakes
    assert f"is a server running at {url}?" in line
    assert "HTX" not in line  # a local URL is not live HTX
    assert "sk-not-shown" not in result.output


class ToClosedPort(httpx.HTTPTransport):
    """Sends every request to a loopback port nothing listens on, over a real socket.

    The request keeps its URL (live HTX), so the refusal is reported as it would be for HTX,
    and the test never touches the internet.
    """

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.asked: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url.copy_with(query=None)))
        local = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return super().handle_request(httpx.Request(request.method, local, headers=request.headers))


def test_the_api_cli_that_cannot_reach_live_htx_says_so_not_is_a_server_running(
    closed_port: int,
) -> None:
    transport = ToClosedPort(closed_port)
    result = CliRunner().invoke(
        main, ["api", "positions"], obj=transport, env={**CREDS, "COPYTRADE_BASE_URL": None}
    )

    assert result.exit_code == 1, result.output
    assert transport.asked == ["https://api.hbdm.com/copytrading/trader/position_list"]
    assert "Traceback" not in result.output
    notice, line = result.stderr.splitlines()
    assert notice.startswith("target: live HTX at https://api.hbdm.com")
    assert line.startswith("Error: request failed: ConnectError on GET https://api.hbdm.com/")
    assert line.endswith(
        ": cannot reach HTX at https://api.hbdm.com; check the network, or set the base URL "
        "(COPYTRADE_BASE_URL) to a copytrade server, e.g. http://127.0.0.1:8080"
    )
    assert "is a server running" not in line
    assert "sk-not-shown" not in result.output


def test_the_sim_cli_without_a_server_says_so_in_one_line(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    line = one_line(run("sim", "--url", url, "health"), 1)
    assert f"cannot reach {url}/_sim/health" in line
    assert "is the copytrade server running there?" in line


def test_the_api_cli_without_credentials_is_a_one_line_usage_error() -> None:
    line = one_line(run("api", "positions", env={"COPYTRADE_BASE_URL": "http://127.0.0.1:1"}))
    assert "no credentials" in line
