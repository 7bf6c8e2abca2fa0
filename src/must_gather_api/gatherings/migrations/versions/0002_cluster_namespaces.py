"""The namespaces gatherings create, recorded before they are created.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_namespaces",
        sa.Column("name", sa.String(253), primary_key=True),
        sa.Column("gathering_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cluster_namespaces_gathering_id", "cluster_namespaces", ["gathering_id"])


def downgrade() -> None:
    op.drop_index("ix_cluster_namespaces_gathering_id", table_name="cluster_namespaces")
    op.drop_table("cluster_namespaces")
