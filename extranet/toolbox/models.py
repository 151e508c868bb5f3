"""The toolbox ("boîte à outils"): documents shared by the network, each with
its successive versions (files), the axes of the plan it serves, and who may
read it."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint, and_, false, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extranet import permissions
from extranet.extensions import db, enum_type
from extranet.files import ExtractionError, FileFormat
from extranet.timeutil import utcnow


class DocumentType(enum.StrEnum):
    GUIDE = "guide"  # guide méthodologique
    ACTION_SHEET = "action_sheet"  # fiche action / retour d'expérience
    SPECIFICATION = "specification"  # cahier des charges / appel à projets
    MINUTES = "minutes"  # compte rendu
    STUDY = "study"  # étude / évaluation
    COMMUNICATION = "communication"  # outil de communication
    AGREEMENT = "agreement"  # convention / document contractuel
    TRAINING = "training"  # formation
    OTHER = "other"  # autre

    @property
    def label(self):
        return DOCUMENT_TYPE_LABELS[self]


DOCUMENT_TYPE_LABELS = {
    DocumentType.GUIDE: _l("Methodological guide"),
    DocumentType.ACTION_SHEET: _l("Action sheet / experience report"),
    DocumentType.SPECIFICATION: _l("Specifications / call for projects"),
    DocumentType.MINUTES: _l("Minutes"),
    DocumentType.STUDY: _l("Study / evaluation"),
    DocumentType.COMMUNICATION: _l("Communication material"),
    DocumentType.AGREEMENT: _l("Agreement / contractual document"),
    DocumentType.TRAINING: _l("Training"),
    DocumentType.OTHER: _l("Other"),
}


class Visibility(enum.StrEnum):
    NETWORK = "network"  # every account of the network
    # The document's territory and the national team (and the author): a
    # roadmap's annexes while it is a draft. Listed here for the forms' order.
    TERRITORY = "territory"
    NATIONAL = "national"  # the national team only (and the author)
    GROUP = "group"  # a working group (and the national team): for when groups exist

    @property
    def label(self):
        return VISIBILITY_LABELS[self]


VISIBILITY_LABELS = {
    Visibility.NETWORK: _l("The whole network"),
    Visibility.TERRITORY: _l("Its territory and the national team"),
    Visibility.NATIONAL: _l("The national team only"),
    Visibility.GROUP: _l("A working group"),
}


document_axis = Table(
    "document_axis",
    db.metadata,
    Column("document_id", ForeignKey("document.id", ondelete="CASCADE"), primary_key=True),
    Column("axis_id", ForeignKey("axis.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Document(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[DocumentType] = mapped_column(enum_type(DocumentType), index=True)
    # Free keywords, as typed, separated by ", ".
    keywords: Mapped[str] = mapped_column(String(1000), default="")
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territory.id", ondelete="SET NULL"), index=True)
    visibility: Mapped[Visibility] = mapped_column(enum_type(Visibility), index=True)
    # The working group of a "group" document.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("working_group.id", ondelete="SET NULL"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Changed by edits and new versions, not by downloads.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    download_count: Mapped[int] = mapped_column(default=0, index=True)
    # The version lists show and the download link gives (the highest number).
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_version.id", use_alter=True, ondelete="SET NULL"), index=True
    )

    author: Mapped["User | None"] = relationship()  # noqa: F821
    territory: Mapped["Territory | None"] = relationship()  # noqa: F821
    group: Mapped["Group | None"] = relationship()  # noqa: F821
    axes: Mapped[list["Axis"]] = relationship(secondary=document_axis, order_by="Axis.number")  # noqa: F821
    versions: Mapped[list["DocumentVersion"]] = relationship(
        back_populates="document",
        foreign_keys="DocumentVersion.document_id",
        cascade="all, delete-orphan",
        order_by="DocumentVersion.number.desc()",
    )
    current_version: Mapped["DocumentVersion | None"] = relationship(foreign_keys=[current_version_id], post_update=True)

    @property
    def keyword_list(self) -> list[str]:
        return split_keywords(self.keywords)

    @property
    def axis_numbers(self) -> tuple[int, ...]:
        return tuple(axis.number for axis in self.axes)

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.title!r}>"


class DocumentVersion(db.Model):
    """One file of a document. Versions are never changed: a new file is a new version."""

    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    # The content, in extranet.storage (by hash); several versions may share one.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    format: Mapped[FileFormat] = mapped_column(enum_type(FileFormat), index=True)
    # The name it was sent with, made safe, its extension matching the real format.
    filename: Mapped[str] = mapped_column(String(255))
    note: Mapped[str] = mapped_column(String(500), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Loaded only when asked for: up to a million characters each.
    text: Mapped[str] = mapped_column(Text, default="", deferred=True)
    extraction_error: Mapped[ExtractionError | None] = mapped_column(enum_type(ExtractionError))

    document: Mapped[Document] = relationship(back_populates="versions", foreign_keys=[document_id])
    author: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def mimetype(self) -> str:
        return self.format.mimetype


def split_keywords(text: str) -> list[str]:
    """Keywords typed separated by commas or semicolons, each once (whatever its case)."""
    seen, keywords = set(), []
    for part in (text or "").replace(";", ",").split(","):
        keyword = " ".join(part.split())
        if keyword and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            keywords.append(keyword)
    return keywords


def visible_to(user):
    """The SQL condition "``user`` may read this document": the rule of
    :func:`extranet.permissions.can_view_document`, written on the columns.

    A document opens with any of its tokens (``permissions.document_tokens``);
    each token a user holds (``permissions.access_tokens``) is translated into
    the documents that carry it. ``tests/test_toolbox.py`` checks, case by
    case, that both say the same."""
    conditions = []
    for token in permissions.access_tokens(user):
        if token == permissions.NETWORK:
            conditions.append(Document.visibility == Visibility.NETWORK)
        elif token == permissions.NATIONAL:
            conditions.append(Document.visibility == Visibility.NATIONAL)
            conditions.append(and_(Document.visibility == Visibility.GROUP, Document.group_id.is_not(None)))
            conditions.append(Document.visibility == Visibility.TERRITORY)
        elif token.startswith("user:"):
            conditions.append(Document.author_id == int(token.removeprefix("user:")))
        elif token.startswith("group:"):
            group_id = int(token.removeprefix("group:"))
            conditions.append(and_(Document.visibility == Visibility.GROUP, Document.group_id == group_id))
        elif token.startswith("territory:"):
            territory_id = int(token.removeprefix("territory:"))
            conditions.append(and_(Document.visibility == Visibility.TERRITORY, Document.territory_id == territory_id))
    return or_(*conditions) if conditions else false()


from extranet import storage  # noqa: E402

storage.register_referrer(DocumentVersion.sha256)

from extranet.toolbox import search  # noqa: E402, F401  (registers documents with the search index)
