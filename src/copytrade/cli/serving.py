"""uvicorn's settings for copytrade: connection deadlines and the graceful stop.

One place for ``copytrade serve``, its workers and the test server, so all serve alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copytrade.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return the keyword arguments for ``uvicorn.Config`` that ``settings`` call for."""
    return {
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "timeout_graceful_shutdown": settings.graceful_shutdown_s,
    }
