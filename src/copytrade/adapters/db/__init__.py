"""SQL persistence through SQLAlchemy 2 Core (SQLite and PostgreSQL)."""
