"""The gatherings table.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gatherings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("custom_name", sa.String(1024), nullable=False, server_default=""),
        sa.Column("image", sa.Text(), nullable=False, server_default=""),
        sa.Column("image_stream", sa.Text(), nullable=False, server_default=""),
        sa.Column("node_name", sa.String(253), nullable=False, server_default=""),
        sa.Column("command", sa.Text(), nullable=False, server_default=""),
        sa.Column("source_dir", sa.Text(), nullable=False, server_default=""),
        sa.Column("timeout", sa.String(64), nullable=False, server_default=""),
        sa.Column("server", sa.Text(), nullable=False, server_default=""),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("archive_size", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("archive_name", sa.Text(), nullable=False, server_default=""),
        sa.Column("archive_sha256", sa.String(64), nullable=False, server_default=""),
        sa.Column("archive_removed", sa.Text(), nullable=False, server_default=""),
        sa.Column("requested_by", sa.Text(), nullable=False, server_default=""),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_gatherings_custom_name", "gatherings", ["custom_name"])
    op.create_index("ix_gatherings_status", "gatherings", ["status"])


def downgrade() -> None:
    op.drop_index("ix_gatherings_status", table_name="gatherings")
    op.drop_index("ix_gatherings_custom_name", table_name="gatherings")
    op.drop_table("gatherings")
