"""The SQL tables of gatherings and of the namespaces they made. Only ``store`` and the
migrations use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class GatheringRow(Base):
    __tablename__ = "gatherings"
    # AUTOINCREMENT on SQLite: an id is never handed out twice, so a deleted
    # gathering's leftover files can never be mistaken for a new one's.
    __table_args__ = (
        Index("ix_gatherings_custom_name", "custom_name"),
        Index("ix_gatherings_status", "status"),
        Index("ix_gatherings_lease", "status", "lease_until"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    custom_name: Mapped[str] = mapped_column(String(1024), default="")
    image: Mapped[str] = mapped_column(Text, default="")
    image_stream: Mapped[str] = mapped_column(Text, default="")
    node_name: Mapped[str] = mapped_column(String(253), default="")
    command: Mapped[str] = mapped_column(Text, default="")
    source_dir: Mapped[str] = mapped_column(Text, default="")
    timeout: Mapped[str] = mapped_column(String(64), default="")
    server: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error_reason: Mapped[str] = mapped_column(Text, default="")
    archive_size: Mapped[int] = mapped_column(BigInteger, default=0)
    archive_name: Mapped[str] = mapped_column(Text, default="")
    archive_sha256: Mapped[str] = mapped_column(String(64), default="")
    archive_removed: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(Text, default="")
    # The replica running it and until when its claim holds unless renewed (``leases``).
    claimed_by: Mapped[str | None] = mapped_column(String(253))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A DELETE on another replica asks the holder to cancel it (``leases.request_cancel``).
    cancel_requested: Mapped[bool | None] = mapped_column(Boolean)


class NamespaceRow(Base):
    """A temporary namespace a gathering is about to create or has created; the row goes
    once the namespace is deleted (or was never made). Not tied to the gathering's row: a
    record removed by cleanup must not take the only trace of a namespace with it."""

    __tablename__ = "cluster_namespaces"

    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    gathering_id: Mapped[int] = mapped_column(Integer, index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
