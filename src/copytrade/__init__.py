"""copytrade: an HTX-compatible copy-trading futures engine, SDK and CLI."""

__version__ = "0.1.0"
