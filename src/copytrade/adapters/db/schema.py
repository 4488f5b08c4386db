"""The schema: SQLAlchemy Core tables on one MetaData, valid on SQLite and PostgreSQL.

Money and volumes are exact decimals (:class:`DecimalText`); ids are 64-bit integers; times are
epoch milliseconds. Indexes are few on purpose: each index keyed by user multiplies write volume.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from copytrade.adapters.db.types import DecimalText

ROWID = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit id; on SQLite declared ``INTEGER`` so that it is the rowid (migration 0004)."""

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("uid", ROWID, primary_key=True, autoincrement=False),
    Column("role", String(16), nullable=False),
    Column("name", String(128), nullable=False),
    Column("profit_share_ratio", DecimalText, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # v6 follower-settings (migration 0009); NULL: as the role says (traders lead)
    Column("lead_enabled", Boolean, nullable=True),
    Column("max_followers", Integer, nullable=False, server_default=text("100")),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("access_key", String(64), primary_key=True),
    Column("uid", BigInteger, nullable=False, index=True),
    Column("method", String(16), nullable=False),
    Column("secret_enc", Text, nullable=True),
    Column("public_key_hex", String(64), nullable=True),
    Column("permissions", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("uid", ROWID, primary_key=True, autoincrement=False),
    Column("balance", DecimalText, nullable=False),
    # PostgreSQL: moved on by every write of the account's state (migration 0003)
    Column("version", BigInteger, nullable=False, server_default=text("0")),
    # the UID's two other USDT balances; ``balance`` is the copy-trading wallet (migration 0008)
    Column("spot", DecimalText, nullable=False, server_default=text("'0'")),
    Column("futures", DecimalText, nullable=False, server_default=text("'0'")),
)

levers = Table(
    "levers",
    metadata,
    Column("uid", BigInteger, primary_key=True, autoincrement=False),
    Column("contract_code", String(32), primary_key=True),
    Column("margin_mode", String(16), primary_key=True),
    Column("lever", Integer, nullable=False),
)

markets = Table(
    "markets",
    metadata,
    Column("contract_code", String(32), primary_key=True),
    Column("mark_price", DecimalText, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("sub_position_id", ROWID, primary_key=True, autoincrement=False),
    Column("uid", BigInteger, nullable=False),
    Column("contract_code", String(32), nullable=False),
    Column("margin_mode", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("lever", Integer, nullable=False),
    Column("volume", DecimalText, nullable=False),
    Column("open_avg_price", DecimalText, nullable=False),
    Column("open_fee", DecimalText, nullable=False),
    Column("position_margin", DecimalText, nullable=False),
    Column("open_order_id", BigInteger, nullable=False),
    Column("open_time", BigInteger, nullable=False),
    Column("tp_trigger_price", DecimalText, nullable=True),
    Column("sl_trigger_price", DecimalText, nullable=True),
    Column("lead_uid", BigInteger, nullable=True),
    Column("lead_sub_position_id", BigInteger, nullable=True),
    Column("is_open", Boolean, nullable=False),
    Column("close_time", BigInteger, nullable=True),
    Column("close_avg_price", DecimalText, nullable=True),
    Column("close_fee", DecimalText, nullable=False),
    Column("profit", DecimalText, nullable=True),
    Column("close_type", Integer, nullable=True),
    Column("follow_takes", DecimalText, nullable=False),
    Index("ix_positions_uid_contract", "uid", "contract_code"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", ROWID, primary_key=True, autoincrement=False),
    Column("uid", BigInteger, nullable=False),
    Column("contract_code", String(32), nullable=False),
    Column("margin_mode", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("price_type", Integer, nullable=False),
    Column("price", DecimalText, nullable=True),
    Column("volume", DecimalText, nullable=False),
    Column("lever", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("tp_trigger_price", DecimalText, nullable=True),
    Column("sl_trigger_price", DecimalText, nullable=True),
    Column("filled", DecimalText, nullable=False),
    Column("filled_notional", DecimalText, nullable=False),
    Column("fee", DecimalText, nullable=False),
    Column("status", String(16), nullable=False),
    Column("sub_position_id", BigInteger, nullable=True),
    Column("lead_uid", BigInteger, nullable=True),
    Column("lead_sub_position_id", BigInteger, nullable=True),
    # only resting orders: a filled market order never enters it (migration 0005)
    Index(
        "ix_orders_open_uid",
        "uid",
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)

fills = Table(
    "fills",
    metadata,
    Column("trade_id", ROWID, primary_key=True, autoincrement=False),
    Column("uid", BigInteger, nullable=False),
    Column("order_id", BigInteger, nullable=True),
    # ids grow with time, so a fill's entry lands near the index's end (migration 0006)
    Column("sub_position_id", BigInteger, nullable=False, index=True),
    Column("contract_code", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("offset", String(8), nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("volume", DecimalText, nullable=False),
    Column("fee", DecimalText, nullable=False),
    Column("liquidity", String(8), nullable=False),
    Column("ts", BigInteger, nullable=False),
    # the public tape reads a contract's newest fills; ids grow with time, so an entry lands
    # at the end of its contract's range (migration 0009)
    Index("ix_fills_contract_trade", "contract_code", "trade_id"),
)

follows = Table(
    "follows",
    metadata,
    Column("follow_id", ROWID, primary_key=True, autoincrement=False),
    Column("follower_uid", BigInteger, nullable=False),
    Column("trader_uid", BigInteger, nullable=False),
    Column("ratio", DecimalText, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
    Column("active", Boolean, nullable=False),
    # the follower's settings beyond the ratio, a JSON object; NULL: a ratio follow (0008)
    Column("settings", Text, nullable=True),
    Index("ix_follows_trader_active", "trader_uid", "active"),
    Index("ix_follows_follower", "follower_uid"),
)

copy_skips = Table(
    "copy_skips",
    metadata,
    Column("skip_id", ROWID, primary_key=True, autoincrement=False),
    Column("trader_uid", BigInteger, nullable=False),
    Column("follower_uid", BigInteger, nullable=False, index=True),
    Column("lead_sub_position_id", BigInteger, nullable=False),
    Column("contract_code", String(32), nullable=False),
    Column("margin_mode", String(16), nullable=False),
    Column("side", String(8), nullable=False),
    Column("wanted_volume", DecimalText, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("ts", BigInteger, nullable=False),
)

profit_shares = Table(
    "profit_shares",
    metadata,
    Column("item_id", ROWID, primary_key=True, autoincrement=False),
    Column("trader_uid", BigInteger, nullable=False, index=True),
    Column("follower_uid", BigInteger, nullable=False),
    Column("lead_sub_position_id", BigInteger, nullable=False),
    Column("amount", DecimalText, nullable=False),
    Column("currency", String(16), nullable=False),
    Column("ts", BigInteger, nullable=False),
)

# v5 attributes of the orders placed through v5 (migration 0009): only those, so keyed by
# UID for the order queries without an index on ``orders``
v5_orders = Table(
    "v5_orders",
    metadata,
    Column("uid", BigInteger, primary_key=True, autoincrement=False),
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("direction", String(8), nullable=False),
    Column("position_side", String(8), nullable=False),
    Column("reduce_only", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("tif", String(8), nullable=False),
    Column("client_order_id", String(32), nullable=True),
)

# accounts in one-way position mode (migration 0009); absent: hedge mode (dual_side)
position_modes = Table(
    "position_modes",
    metadata,
    Column("uid", ROWID, primary_key=True, autoincrement=False),
    Column("position_mode", String(16), nullable=False),
)

# every mark move, for the public candles (migration 0009)
mark_moves = Table(
    "mark_moves",
    metadata,
    Column("move_id", ROWID, primary_key=True, autoincrement=True),
    Column("contract_code", String(32), nullable=False),
    Column("mark_price", DecimalText, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Index("ix_mark_moves_contract", "contract_code", "move_id"),
)

# v5 trigger and trailing orders (migration 0010): the columns the stores select on, the rest
# of the order as a JSON object (decimals as text), written whole on every change
algo_orders = Table(
    "algo_orders",
    metadata,
    Column("algo_id", ROWID, primary_key=True, autoincrement=False),
    Column("uid", BigInteger, nullable=False),
    Column("contract_code", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_algo_orders_uid", "uid", "state"),
    Index("ix_algo_orders_contract_state", "contract_code", "state"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Process bookkeeping (snowflake worker numbers); not data, so the admin reset keeps it.
counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

ALL_DATA_TABLES = (
    users,
    api_keys,
    accounts,
    levers,
    markets,
    positions,
    orders,
    fills,
    follows,
    copy_skips,
    profit_shares,
    v5_orders,
    position_modes,
    mark_moves,
    algo_orders,
    meta,
)
