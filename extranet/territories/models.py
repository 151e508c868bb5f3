import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extranet.extensions import db, enum_type


class TerritoryKind(enum.StrEnum):
    COMMUNE = "commune"
    METROPOLE = "metropole"
    URBAN_COMMUNITY = "communaute_urbaine"
    AGGLOMERATION = "communaute_agglomeration"
    COMMUNITY_OF_COMMUNES = "communaute_communes"
    DEPARTMENT = "departement"

    @property
    def label(self):
        return KIND_LABELS[self]

    @property
    def is_epci(self) -> bool:
        return self not in (TerritoryKind.COMMUNE, TerritoryKind.DEPARTMENT)


KIND_LABELS = {
    TerritoryKind.COMMUNE: _l("Municipality"),
    TerritoryKind.METROPOLE: _l("EPCI — metropolis"),
    TerritoryKind.URBAN_COMMUNITY: _l("EPCI — urban community"),
    TerritoryKind.AGGLOMERATION: _l("EPCI — agglomeration community"),
    TerritoryKind.COMMUNITY_OF_COMMUNES: _l("EPCI — community of municipalities"),
    TerritoryKind.DEPARTMENT: _l("Department"),
}

# The two calls for expressions of interest: wave number -> selection year.
WAVES = {1: 2018, 2: 2021}


class Territory(db.Model):
    """A territory of accelerated implementation ("territoire de mise en œuvre accélérée")."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TerritoryKind] = mapped_column(enum_type(TerritoryKind))
    wave: Mapped[int]
    selection_year: Mapped[int]
    # A territory of the first wave may be extended by the second call (the
    # Pas-de-Calais, joined by new EPCI in 2021): one territory, with its extension.
    extension_year: Mapped[int | None]
    extension_note: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(String(100), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    description: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(500), default="")

    users: Mapped[list["User"]] = relationship(back_populates="territory")  # noqa: F821

    @property
    def is_overseas(self) -> bool:
        return self.timezone != "Europe/Paris"

    def in_wave(self, wave: int) -> bool:
        return self.wave == wave or (self.extension_year is not None and WAVES.get(wave) == self.extension_year)

    def __repr__(self) -> str:
        return f"<Territory {self.slug}>"
