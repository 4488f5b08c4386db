"""One logging setup for everything the server process prints: ours, uvicorn's and alembic's.

:func:`configure_logging` installs one handler on the root logger (stderr) with a plain or a
JSON formatter, and makes uvicorn's and alembic's loggers hand their records to it, so the
output has one format. Request lines go to the ``copytrade.access`` logger at INFO (one per
request: method, path, uid, HTX code, latency, tid); its level switches them on or off
independently of the rest (``access_log``).
"""

from __future__ import annotations

import logging
import logging.config
import time
from typing import Any, Literal

import orjson

LogFormat = Literal["plain", "json"]
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("plain", "json")

ACCESS_LOGGER = "copytrade.access"
# Loggers that other libraries configure on their own; we route them through the root handler.
_FOREIGN = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "sqlalchemy")
# LogRecord attributes that are not user-supplied ``extra`` fields (uvicorn adds a coloured
# copy of its message).
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg`` and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as compact JSON (no secrets are ever passed to a logger)."""
        entry: dict[str, Any] = {
            "ts": _iso_ms(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class PlainFormatter(logging.Formatter):
    """``2026-12-01T23:10:00.123Z INFO logger: message``."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Return the record's time as UTC ISO 8601 with milliseconds."""
        return _iso_ms(record.created)


_last_second: list[Any] = [None, ""]


def _iso_ms(created: float) -> str:
    seconds = int(created)
    last = _last_second
    if last[0] != seconds:  # one strftime per second, not per line
        last[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        last[0] = seconds
    return f"{last[1]}.{int((created - seconds) * 1000):03d}Z"


class AccessSink:
    """Writes request lines straight to the process's one handler, in its format.

    A ``LogRecord`` and the handler chain cost ~19 us per line; the same text written here
    costs ~2 us. It is used only while the root logger's sole handler is the one
    :func:`configure_logging` installed and ``copytrade.access`` adds no handler or filter of
    its own (:func:`access_sink` checks); otherwise request lines go through ``logging``.
    """

    def __init__(self, handler: logging.StreamHandler[Any], fmt: str) -> None:
        """Write through ``handler``'s stream (under its lock) in ``fmt``."""
        self.handler = handler
        self.json = fmt == "json"

    def write(self, text: str, fields: dict[str, Any] | None = None) -> None:
        """Write one INFO line of ``copytrade.access`` (``fields`` are for JSON)."""
        stamp = _iso_ms(time.time())
        if self.json:
            entry = {"ts": stamp, "level": "INFO", "logger": ACCESS_LOGGER, "msg": text}
            line = orjson.dumps(entry | (fields or {}), default=str).decode()
        else:
            line = f"{stamp} INFO {ACCESS_LOGGER}: {text}"
        handler = self.handler
        handler.acquire()
        try:
            handler.stream.write(line + "\n")
            handler.stream.flush()
        finally:
            handler.release()


_sink: list[AccessSink | None] = [None]


def access_sink(access: logging.Logger) -> AccessSink | None:
    """Return the fast writer for ``access`` lines while the logging set-up is still ours."""
    sink = _sink[0]
    if sink is None:
        return None
    handlers = logging.root.handlers
    if len(handlers) != 1 or handlers[0] is not sink.handler or access.handlers or access.filters:
        return None
    return sink


def configure_logging(level: str = "info", fmt: str = "plain", *, access_log: bool = True) -> None:
    """Install the process's one log handler (stderr) in ``fmt`` at ``level``.

    Args:
        level: one of :data:`LOG_LEVELS`.
        fmt: ``"plain"`` or ``"json"``.
        access_log: whether request lines (``copytrade.access`` at INFO) are written.
    """
    # nothing we print shows them, and each costs a look-up per record
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"()": PlainFormatter, "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    root_level = level.upper()
    access_level = "NOTSET" if access_log else "WARNING"
    foreign: dict[str, Any] = {
        name: {"handlers": [], "propagate": True, "level": "NOTSET"} for name in _FOREIGN
    }
    # SQLAlchemy echoes every statement at INFO: warnings only. Alembic names each
    # connection's dialect at INFO: quiet unless debugging.
    foreign["sqlalchemy"]["level"] = "WARNING"
    # uvicorn's access line carries no uid, HTX code or tid: ours (copytrade.access) replaces
    # it, and uvicorn writes it whenever the logger has a handler (a worker's included)
    foreign["uvicorn.access"].update(level="WARNING", propagate=False)
    if root_level != "DEBUG":
        foreign["alembic"]["level"] = "WARNING"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"default": formatter},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "stream": "ext://sys.stderr",
                }
            },
            "root": {"handlers": ["stderr"], "level": root_level},
            "loggers": {
                **foreign,
                ACCESS_LOGGER: {"level": access_level, "propagate": True},
            },
        }
    )
    handler = logging.root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    _sink[0] = AccessSink(handler, fmt)
