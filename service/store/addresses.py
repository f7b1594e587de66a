"""Addresses Mailhook made at a provider: which account made each one and the provider's id for it.

The provider is the authority on what exists; this table is what lets ``delete ADDRESS`` find
the account and the provider id without asking, and ``list`` answer without calling five APIs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select
from sqlmodel import Field, Session, SQLModel, col


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ProvisionedAddressRow(SQLModel, table=True):
    """One address; ``account`` is the config's account name (what the API calls ``via``)."""

    __tablename__ = "provisionedaddress"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(unique=True, max_length=320)
    account: str = Field(index=True, max_length=64)
    provider: str = Field(max_length=32)
    provider_ref: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=_utcnow)


def record_address(
    engine: Engine, *, address: str, account: str, provider: str, provider_ref: str
) -> ProvisionedAddressRow:
    """Insert, replacing a stale row for the same address (the provider re-issued an address we
    had recorded, e.g. after it was removed at the provider by hand)."""
    row = ProvisionedAddressRow(address=address.lower(), account=account, provider=provider, provider_ref=provider_ref)
    with Session(engine) as session:
        session.execute(delete(ProvisionedAddressRow).where(col(ProvisionedAddressRow.address) == row.address))
        session.add(row)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return row


def get_address(engine: Engine, address: str) -> ProvisionedAddressRow | None:
    with Session(engine) as session:
        row = session.scalars(
            select(ProvisionedAddressRow).where(col(ProvisionedAddressRow.address) == address.lower())
        ).first()
        if row is not None:
            session.expunge(row)
        return row


def list_addresses(engine: Engine, *, account: str | None = None, limit: int = 1000) -> list[ProvisionedAddressRow]:
    """Newest first."""
    stmt = select(ProvisionedAddressRow).order_by(col(ProvisionedAddressRow.id).desc()).limit(limit)
    if account is not None:
        stmt = stmt.where(col(ProvisionedAddressRow.account) == account)
    with Session(engine) as session:
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def delete_address(engine: Engine, address: str) -> bool:
    """True when a row was removed."""
    with engine.begin() as conn:
        result = conn.execute(
            delete(ProvisionedAddressRow).where(col(ProvisionedAddressRow.address) == address.lower())
        )
        return bool(result.rowcount)
