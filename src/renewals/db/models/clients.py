from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from renewals.db.models.base import Base, BigId, Timestamped


class Client(Timestamped, Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str] = mapped_column(String(300))
    # NFKC, case-folded, whitespace-free form of legal_name: full- and half-width forms collide here.
    legal_name_key: Mapped[str] = mapped_column(String(300), unique=True)
    segment: Mapped[str] = mapped_column(String(40))
    size: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="prospect")
    tier: Mapped[str] = mapped_column(String(1), default="C")

    contacts: Mapped[list[Contact]] = relationship(back_populates="client", order_by="Contact.id")

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Contact(Timestamped, Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    role: Mapped[str | None] = mapped_column(String(100))
    birthday: Mapped[date | None] = mapped_column(Date)
    is_billing: Mapped[bool] = mapped_column(Boolean, default=False)
    is_signatory: Mapped[bool] = mapped_column(Boolean, default=False)

    client: Mapped[Client] = relationship(back_populates="contacts")

    __table_args__ = (Index("ix_contacts_client_id", "client_id"),)
