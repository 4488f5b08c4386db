"""Account versions: every write of an account's state on PostgreSQL moves its version on.

A server process keeps the accounts it has committed in memory with the version it wrote
(:class:`~copytrade.adapters.db.versions.AccountVersions`); the next command that locks such an
account reads only its row and, when the version still matches, skips loading its positions,
orders and levers. Existing rows start at 0.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``accounts.version``."""
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    """Drop ``accounts.version``."""
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("version")
