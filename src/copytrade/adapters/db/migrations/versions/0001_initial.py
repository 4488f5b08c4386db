"""Initial schema: users, keys, accounts, markets, positions, orders, fills, follows, skips.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from copytrade.adapters.db.types import DecimalText

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "users",
        sa.Column("uid", _ID, primary_key=True, autoincrement=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("profit_share_ratio", DecimalText, nullable=False),
        sa.Column("created_at", _ID, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("access_key", sa.String(64), primary_key=True),
        sa.Column("uid", _ID, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("secret_enc", sa.Text, nullable=True),
        sa.Column("public_key_hex", sa.String(64), nullable=True),
        sa.Column("permissions", sa.String(16), nullable=False),
        sa.Column("created_at", _ID, nullable=False),
    )
    op.create_index("ix_api_keys_uid", "api_keys", ["uid"])
    op.create_table(
        "accounts",
        sa.Column("uid", _ID, primary_key=True, autoincrement=False),
        sa.Column("balance", DecimalText, nullable=False),
    )
    op.create_table(
        "levers",
        sa.Column("uid", _ID, primary_key=True, autoincrement=False),
        sa.Column("contract_code", sa.String(32), primary_key=True),
        sa.Column("margin_mode", sa.String(16), primary_key=True),
        sa.Column("lever", sa.Integer, nullable=False),
    )
    op.create_table(
        "markets",
        sa.Column("contract_code", sa.String(32), primary_key=True),
        sa.Column("mark_price", DecimalText, nullable=False),
        sa.Column("updated_at", _ID, nullable=False),
    )
    op.create_table(
        "positions",
        sa.Column("sub_position_id", _ID, primary_key=True, autoincrement=False),
        sa.Column("uid", _ID, nullable=False),
        sa.Column("contract_code", sa.String(32), nullable=False),
        sa.Column("margin_mode", sa.String(16), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("lever", sa.Integer, nullable=False),
        sa.Column("volume", DecimalText, nullable=False),
        sa.Column("open_avg_price", DecimalText, nullable=False),
        sa.Column("open_fee", DecimalText, nullable=False),
        sa.Column("position_margin", DecimalText, nullable=False),
        sa.Column("open_order_id", _ID, nullable=False),
        sa.Column("open_time", _ID, nullable=False),
        sa.Column("tp_trigger_price", DecimalText, nullable=True),
        sa.Column("sl_trigger_price", DecimalText, nullable=True),
        sa.Column("lead_uid", _ID, nullable=True),
        sa.Column("lead_sub_position_id", _ID, nullable=True),
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("close_time", _ID, nullable=True),
        sa.Column("close_avg_price", DecimalText, nullable=True),
        sa.Column("close_fee", DecimalText, nullable=False),
        sa.Column("profit", DecimalText, nullable=True),
        sa.Column("close_type", sa.Integer, nullable=True),
        sa.Column("follow_takes", DecimalText, nullable=False),
    )
    op.create_index("ix_positions_uid_contract", "positions", ["uid", "contract_code"])
    op.create_table(
        "orders",
        sa.Column("order_id", _ID, primary_key=True, autoincrement=False),
        sa.Column("uid", _ID, nullable=False),
        sa.Column("contract_code", sa.String(32), nullable=False),
        sa.Column("margin_mode", sa.String(16), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("price_type", sa.Integer, nullable=False),
        sa.Column("price", DecimalText, nullable=True),
        sa.Column("volume", DecimalText, nullable=False),
        sa.Column("lever", sa.Integer, nullable=False),
        sa.Column("created_at", _ID, nullable=False),
        sa.Column("tp_trigger_price", DecimalText, nullable=True),
        sa.Column("sl_trigger_price", DecimalText, nullable=True),
        sa.Column("filled", DecimalText, nullable=False),
        sa.Column("filled_notional", DecimalText, nullable=False),
        sa.Column("fee", DecimalText, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sub_position_id", _ID, nullable=True),
        sa.Column("lead_uid", _ID, nullable=True),
        sa.Column("lead_sub_position_id", _ID, nullable=True),
    )
    op.create_index("ix_orders_uid_status", "orders", ["uid", "status"])
    op.create_table(
        "fills",
        sa.Column("trade_id", _ID, primary_key=True, autoincrement=False),
        sa.Column("uid", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("sub_position_id", _ID, nullable=False),
        sa.Column("contract_code", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("offset", sa.String(8), nullable=False),
        sa.Column("price", DecimalText, nullable=False),
        sa.Column("volume", DecimalText, nullable=False),
        sa.Column("fee", DecimalText, nullable=False),
        sa.Column("liquidity", sa.String(8), nullable=False),
        sa.Column("ts", _ID, nullable=False),
    )
    op.create_index("ix_fills_uid", "fills", ["uid"])
    op.create_table(
        "follows",
        sa.Column("follow_id", _ID, primary_key=True, autoincrement=False),
        sa.Column("follower_uid", _ID, nullable=False),
        sa.Column("trader_uid", _ID, nullable=False),
        sa.Column("ratio", DecimalText, nullable=False),
        sa.Column("started_at", _ID, nullable=False),
        sa.Column("ended_at", _ID, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_index("ix_follows_trader_active", "follows", ["trader_uid", "active"])
    op.create_index("ix_follows_follower", "follows", ["follower_uid"])
    op.create_table(
        "copy_skips",
        sa.Column("skip_id", _ID, primary_key=True, autoincrement=False),
        sa.Column("trader_uid", _ID, nullable=False),
        sa.Column("follower_uid", _ID, nullable=False),
        sa.Column("lead_sub_position_id", _ID, nullable=False),
        sa.Column("contract_code", sa.String(32), nullable=False),
        sa.Column("margin_mode", sa.String(16), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("wanted_volume", DecimalText, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ts", _ID, nullable=False),
    )
    op.create_index("ix_copy_skips_follower_uid", "copy_skips", ["follower_uid"])
    op.create_table(
        "profit_shares",
        sa.Column("item_id", _ID, primary_key=True, autoincrement=False),
        sa.Column("trader_uid", _ID, nullable=False),
        sa.Column("follower_uid", _ID, nullable=False),
        sa.Column("lead_sub_position_id", _ID, nullable=False),
        sa.Column("amount", DecimalText, nullable=False),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("ts", _ID, nullable=False),
    )
    op.create_index("ix_profit_shares_trader_uid", "profit_shares", ["trader_uid"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "meta",
        "profit_shares",
        "copy_skips",
        "follows",
        "fills",
        "orders",
        "positions",
        "markets",
        "levers",
        "accounts",
        "api_keys",
        "users",
    ):
        op.drop_table(table)
