"""Command-line interface of copytrade (click)."""
