"""Index only the orders that rest: ``ix_orders_open_uid`` on ``orders (uid)`` where open.

Orders are read by UID only to load the ones still open (limit orders resting in the book). The
old ``(uid, status)`` index also held every filled market order, so each order insert wrote a
random page of it; a market order now never enters the index, and a resting one leaves it when it
fills or is cancelled.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    """Replace the (uid, status) index by a partial index of open orders."""
    op.drop_index("ix_orders_uid_status", table_name="orders")
    op.create_index(
        "ix_orders_open_uid", "orders", ["uid"], sqlite_where=OPEN, postgresql_where=OPEN
    )


def downgrade() -> None:
    """Restore the (uid, status) index."""
    op.drop_index("ix_orders_open_uid", table_name="orders")
    op.create_index("ix_orders_uid_status", "orders", ["uid", "status"])
