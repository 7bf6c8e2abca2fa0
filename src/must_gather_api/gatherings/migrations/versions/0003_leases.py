"""Claims carry their holder and a lease, so replicas sharing the store can take over the
gatherings of one that died.

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
    op.add_column("gatherings", sa.Column("claimed_by", sa.String(253), nullable=True))
    op.add_column("gatherings", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    # Running gatherings from before leases have none: they read as lapsed, as they were
    # left by a process that is gone.
    op.create_index("ix_gatherings_lease", "gatherings", ["status", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_gatherings_lease", table_name="gatherings")
    # SQLite drops a column only by copying the table: batch mode does that.
    with op.batch_alter_table("gatherings") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
