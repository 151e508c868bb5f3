from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extranet.extensions import db


class Priority(db.Model):
    """One of the five priorities of the plan (priorité I to V)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(300))
    axes: Mapped[list["Axis"]] = relationship(back_populates="priority", order_by="Axis.number")

    @property
    def roman(self) -> str:
        return ["I", "II", "III", "IV", "V"][self.number - 1]


class Axis(db.Model):
    """One of the sixteen axes, numbered across the whole plan (axe 1 to 16)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(300))
    priority_id: Mapped[int] = mapped_column(ForeignKey("priority.id"), index=True)
    priority: Mapped[Priority] = relationship(back_populates="axes")
