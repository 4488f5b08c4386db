"""Render SDK results for people (aligned tables) or for scripts (``--json``).

Decimals are printed exactly as strings (never through float), enums as their wire values.
Nothing here ever sees a credential.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from copytrade.client import Page

__all__ = ["ENV_HELP", "render", "to_jsonable"]

ENV_HELP = """\b
Environment variables (a command-line option wins over its variable):
  COPYTRADE_BASE_URL        server of the api commands (default: live HTX,
                            https://api.hbdm.com; a copytrade server is
                            http://127.0.0.1:8080)
  COPYTRADE_ACCESS_KEY      api commands: access key
  COPYTRADE_SECRET_KEY      api commands: HmacSHA256 secret
  COPYTRADE_ED25519_KEY_FILE  api commands: Ed25519 private key (PEM)
  COPYTRADE_PROFILE         api commands: profile of the profiles file
  COPYTRADE_PROFILE_FILE    profiles file (~/.config/copytrade/profiles.toml)
  COPYTRADE_SIM_URL         sim commands: server (else COPYTRADE_BASE_URL)
  COPYTRADE_CONFIG          serve: TOML settings file
  COPYTRADE_<SETTING>       serve: any server setting, e.g. COPYTRADE_PORT,
                            COPYTRADE_DB_URL, COPYTRADE_ADMIN_TOKEN,
                            COPYTRADE_SERVER_KEY, COPYTRADE_REDIS_URL,
                            COPYTRADE_LOG_LEVEL, COPYTRADE_LOG_FORMAT,
                            COPYTRADE_ACCESS_LOG
"""


def to_jsonable(value: Any) -> Any:
    """Convert an SDK result to JSON-ready values (decimals as strings)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Page):
        return {"items": [to_jsonable(v) for v in value.items], "query_id": value.query_id}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def _cell(value: Any) -> str:
    plain = to_jsonable(value)
    if plain is None:
        return "-"
    if isinstance(plain, bool):
        return "true" if plain else "false"
    if isinstance(plain, list | dict):
        return json.dumps(plain, separators=(",", ":"))
    return str(plain)


def _table(rows: Sequence[Any]) -> str:
    if not rows:
        return "(none)"
    if not dataclasses.is_dataclass(rows[0]):
        return "\n".join(_cell(r) for r in rows)
    names = [f.name for f in dataclasses.fields(rows[0])]
    cells = [[_cell(getattr(r, n)) for n in names] for r in rows]
    # a column empty in every row is left out (the v5 conditional orders carry ~30 fields, of
    # which each kind fills a few); --json prints every field
    keep = [i for i in range(len(names)) if i == 0 or any(c[i] != "-" for c in cells)]
    if len(keep) < len(names):
        names = [names[i] for i in keep]
        cells = [[c[i] for i in keep] for c in cells]
    widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
    lines = ["  ".join(n.upper().ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def _record(value: Any) -> str:
    names = [f.name for f in dataclasses.fields(value)]
    width = max(len(n) for n in names)
    return "\n".join(f"{n.ljust(width)}  {_cell(getattr(value, n))}" for n in names)


def render(value: Any, *, as_json: bool) -> str:
    """Return ``value`` as JSON text or as a human-readable table."""
    if as_json:
        return json.dumps(to_jsonable(value), indent=2)
    if isinstance(value, bool):
        return "ok" if value else "failed"
    if isinstance(value, Page):
        cursor = "-" if value.query_id is None else str(value.query_id)
        return f"{_table(value.items)}\nquery_id: {cursor}"
    if isinstance(value, tuple | list):
        return _table(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    return _cell(value)
