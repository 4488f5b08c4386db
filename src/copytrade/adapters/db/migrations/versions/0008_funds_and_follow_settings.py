"""A UID's spot and USDT-M futures balances, and a follower's settings (issue 13).

``accounts.balance`` stays the copy-trading wallet ``W``; ``spot`` and ``futures`` are the UID's
two other USDT balances (spec §6.6, htx-v5-v6.md §9.2), moved only by transfers and admin
funding. Existing accounts start both at 0. ``follows.settings`` holds a follow's settings
beyond its ratio (mode, fixed amount, TP/SL ratios, total stop-loss, contracts) as a JSON object
of strings (``domain.copytrading.follow_settings``); ``NULL`` is a plain ratio follow, which is
what every existing row is.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from copytrade.adapters.db.types import DecimalText

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``accounts.spot``, ``accounts.futures`` and ``follows.settings``."""
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("spot", DecimalText, nullable=False, server_default=sa.text("'0'"))
        )
        batch.add_column(
            sa.Column("futures", DecimalText, nullable=False, server_default=sa.text("'0'"))
        )
    with op.batch_alter_table("follows") as batch:
        batch.add_column(sa.Column("settings", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("follows") as batch:
        batch.drop_column("settings")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("futures")
        batch.drop_column("spot")
