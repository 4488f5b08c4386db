"""The ``counters`` row ``marks``: the version of every mark price, moved on by each write.

PostgreSQL processes keep the marks they committed and read them again only when this version
has moved (``adapters/db/versions.py``). A database migrated from before starts the row at 0, so
its processes keep marks from the first command on instead of from the first price move.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ``marks`` counter."""
    op.execute(
        "INSERT INTO counters (name, value) VALUES ('marks', 0) ON CONFLICT (name) DO NOTHING"
    )


def downgrade() -> None:
    """Drop the ``marks`` counter."""
    op.execute("DELETE FROM counters WHERE name = 'marks'")
