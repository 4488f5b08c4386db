"""v5 trigger and trailing orders (issue 14, branch ``algo``).

* ``algo_orders``: one row per trigger or trailing order placed through ``POST /v5/algo/order``,
  resting or finished (the history reads the finished ones); the columns the stores select on,
  the rest of the order as a JSON object in ``body``.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROWID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the table and its two indexes."""
    op.create_table(
        "algo_orders",
        sa.Column("algo_id", ROWID, primary_key=True, autoincrement=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("contract_code", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_algo_orders_uid", "algo_orders", ["uid", "state"])
    op.create_index("ix_algo_orders_contract_state", "algo_orders", ["contract_code", "state"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_algo_orders_contract_state", table_name="algo_orders")
    op.drop_index("ix_algo_orders_uid", table_name="algo_orders")
    op.drop_table("algo_orders")
