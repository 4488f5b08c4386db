"""Index fills by sub position instead of by UID.

Fills are read only by the admin view of one UID. Indexed by UID, each fill insert wrote a random
page of the index (UIDs arrive in any order); sub position ids grow with time, so an index on
them takes each fill near its end, and a UID's fills are found through its positions (indexed by
UID already).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace ``ix_fills_uid`` by ``ix_fills_sub_position_id``."""
    op.drop_index("ix_fills_uid", table_name="fills")
    op.create_index("ix_fills_sub_position_id", "fills", ["sub_position_id"])


def downgrade() -> None:
    """Restore ``ix_fills_uid``."""
    op.drop_index("ix_fills_sub_position_id", table_name="fills")
    op.create_index("ix_fills_uid", "fills", ["uid"])
