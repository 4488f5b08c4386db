"""SQLite: single-column ids become the table's rowid.

SQLite makes a column the rowid only when its declared type is exactly ``INTEGER``; a
``BIGINT PRIMARY KEY`` is a separate unique index beside the rowid B-tree. Every insert then wrote
two B-trees and every lookup by id searched two. SQLite's INTEGER holds 64 bits, as BIGINT does,
so only the declared type changes; the tables are rebuilt with their data and indexes.
PostgreSQL is unchanged.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROWID_KEYS = {
    "users": "uid",
    "accounts": "uid",
    "positions": "sub_position_id",
    "orders": "order_id",
    "fills": "trade_id",
    "follows": "follow_id",
    "copy_skips": "skip_id",
    "profit_shares": "item_id",
}


def _retype(to: sa.types.TypeEngine[int], was: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, key in ROWID_KEYS.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column(key, type_=to, existing_type=was, existing_nullable=False)


def upgrade() -> None:
    """Declare the id columns ``INTEGER`` on SQLite (rowid tables)."""
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    """Declare them ``BIGINT`` again."""
    _retype(sa.BigInteger(), sa.Integer())
