"""The ASGI entrypoint: HTX's wire protocol and the emulator's admin API."""
