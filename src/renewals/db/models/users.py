from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from renewals.db.models.base import Base, BigId, Timestamped


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language the pages speak to this user (`en`, `zh-Hans`, `zh-Hant`, `ko`); None until chosen.
    language: Mapped[str | None] = mapped_column(String(10), default=None)
    # Tokens carry the generation they were issued in; deactivating the user or changing the
    # password moves it on, and every earlier token stops working.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
