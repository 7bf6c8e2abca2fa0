"""A DELETE answered by a replica that does not run the gathering asks its holder, through
the store, to cancel it.

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


def upgrade() -> None:
    op.add_column("gatherings", sa.Column("cancel_requested", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column only by copying the table: batch mode does that.
    with op.batch_alter_table("gatherings") as batch:
        batch.drop_column("cancel_requested")
