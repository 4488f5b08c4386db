"""v5/v6 state kept by the store instead of each process (issue 14).

* ``users.lead_enabled`` and ``users.max_followers``: v6 ``follower-settings`` (``NULL``: as
  the role says; 100 followers until set);
* ``v5_orders``: what a v5 order says beyond the core's order (buy/sell, reduce-only, type, time
  in force, client id), so that ``/v5/trade/order/history`` survives restarts and agrees across
  processes;
* ``position_modes``: accounts switched to one-way mode (``single_side``);
* ``mark_moves``: every mark move, for the public candles;
* ``ix_fills_contract_trade``: the public tape reads a contract's newest fills (without it, a
  contract with few fills would scan the whole table backwards on every ticker).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from copytrade.adapters.db.types import DecimalText

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ROWID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the lead settings, the three tables and the tape's index."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("lead_enabled", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("max_followers", sa.Integer(), nullable=False, server_default=sa.text("100"))
        )
    op.create_table(
        "v5_orders",
        sa.Column("uid", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("position_side", sa.String(8), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("tif", sa.String(8), nullable=False),
        sa.Column("client_order_id", sa.String(32), nullable=True),
    )
    op.create_table(
        "position_modes",
        sa.Column("uid", ROWID, primary_key=True, autoincrement=False),
        sa.Column("position_mode", sa.String(16), nullable=False),
    )
    op.create_table(
        "mark_moves",
        sa.Column("move_id", ROWID, primary_key=True, autoincrement=True),
        sa.Column("contract_code", sa.String(32), nullable=False),
        sa.Column("mark_price", DecimalText, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_mark_moves_contract", "mark_moves", ["contract_code", "move_id"])
    op.create_index("ix_fills_contract_trade", "fills", ["contract_code", "trade_id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_fills_contract_trade", table_name="fills")
    op.drop_table("mark_moves")
    op.drop_table("position_modes")
    op.drop_table("v5_orders")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("max_followers")
        batch.drop_column("lead_enabled")
