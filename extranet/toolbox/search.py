"""How toolbox documents appear in the platform's search.

A document is one entry: its metadata and the text of its current version.
A new version changes its document's entry. Who may find it is said by the
same tokens as who may open it (``permissions.document_tokens``).
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from extranet import permissions
from extranet.search import SearchEntry, register, register_dependent, register_kind
from extranet.toolbox.models import DOCUMENT_TYPE_LABELS, Document, DocumentVersion


def document_url(document_id: int) -> str:
    # A plain path rather than url_for: entries are also built outside requests
    # (`flask extranet reindex`, after_commit hooks of commands).
    return f"/toolbox/{document_id}"


def to_entry(document: Document) -> SearchEntry:
    version = document.current_version
    return SearchEntry(
        key=f"document:{document.id}",
        kind="document",
        title=document.title,
        summary=document.summary or "",
        content=(version.text or "") if version is not None else "",
        keywords=tuple(document.keyword_list),
        type=document.type.value,
        axes=document.axis_numbers,
        territory_id=document.territory_id,
        year=document.created_at.year if document.created_at else None,
        date=document.updated_at,
        url=document_url(document.id),
        access=permissions.document_tokens(document),
    )


def _all_documents():
    return select(Document).options(
        selectinload(Document.axes),
        selectinload(Document.current_version).options(undefer(DocumentVersion.text)),
    )


register_kind("document", _l("Document"), DOCUMENT_TYPE_LABELS)
register(Document, key=lambda d: f"document:{d.id}", to_entry=to_entry, query=_all_documents)
register_dependent(DocumentVersion, lambda version: [version.document])
