"""Forms of the roadmap's general parts: creating one, its summary, its
partners, its attached documents and its editors.

Every form that changes the roadmap carries ``version``, the roadmap's version
when the form was read (see :func:`extranet.roadmaps.views.edit_conflict`).
Choices that depend on the database are set by the view.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from extranet.admin.forms import ChoiceRequired, optional_int
from extranet.forms import single_line, strip
from extranet.roadmaps.editing import MAX_NAMES_PER_KIND
from extranet.roadmaps.models import NAME_MAX, PartnerKind
from extranet.toolbox.forms import PublishForm

TEXT_MAX = 50_000


def _version(value):
    """The version the form was read at; anything else is no version (a conflict, never a crash)."""
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


class VersionMixin:
    version = HiddenField(filters=[_version])


def _year(form, field):
    text = (field.data or "").strip()
    if not text:
        raise ValidationError(_l("Enter a year, e.g. 2025."))
    if not text.isdigit() or len(text) != 4:
        raise ValidationError(_l("Enter the year with four digits, e.g. 2025."))


class RoadmapForm(FlaskForm):
    start_year = StringField(_l("First year of the period"), filters=[single_line], validators=[_year],
                             render_kw={"inputmode": "numeric", "autocomplete": "off"})
    end_year = StringField(_l("Last year of the period"), filters=[single_line], validators=[_year],
                           description=_l("The same year for a one-year roadmap."),
                           render_kw={"inputmode": "numeric", "autocomplete": "off"})


def _text(label, description):
    return TextAreaField(
        label, filters=[strip], description=description,
        validators=[Optional(), Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX))],
    )


class SummaryForm(VersionMixin, FlaskForm):
    context = _text(_l("Context"), _l(
        "The territory, its needs and what exists already (fiche 1). Markdown: **bold**, *italics*, lists, [links](https://…)."
    ))
    strategy = _text(_l("Strategic summary"), _l(
        "The territory's ambition and its main lines (fiche 2). Markdown: **bold**, *italics*, lists, [links](https://…)."
    ))
    budget_note = _text(_l("Other funding"), _l(
        "Ordinary (“droit commun”) funding used beside the call's, as fiche 5 asks. Markdown: **bold**, *italics*, lists, [links](https://…)."
    ))


def _names_validator(kind: PartnerKind):
    def validate(form, field):
        names = [" ".join(line.split()) for line in (field.data or "").splitlines()]
        names = [n for n in names if n]
        if len(names) > MAX_NAMES_PER_KIND:
            raise ValidationError(_l("At most %(n)s names per kind of partner.", n=MAX_NAMES_PER_KIND))
        if any(len(n) > NAME_MAX for n in names):
            raise ValidationError(_l("A name has at most %(n)s characters: write one partner per line.", n=NAME_MAX))
        if names and not form[f"kind_{kind.value}"].data:
            raise ValidationError(_l("Tick this kind of partner to keep these names, or clear them."))
        field.names = names

    return validate


class _PartnersBase(VersionMixin, FlaskForm):
    def entries(self) -> list[tuple[PartnerKind, str]]:
        """(kind, name) pairs; a ticked kind without names is one nameless pair."""
        result = []
        for kind in PartnerKind:
            if self[f"kind_{kind.value}"].data:
                names = getattr(self[f"names_{kind.value}"], "names", None) or [""]
                result.extend((kind, name) for name in names)
        return result

    def kind_fields(self):
        return [(kind, self[f"kind_{kind.value}"], self[f"names_{kind.value}"]) for kind in PartnerKind]


def _partners_form_class():
    attributes = {}
    for kind in PartnerKind:
        attributes[f"kind_{kind.value}"] = BooleanField(kind.label)
        attributes[f"names_{kind.value}"] = TextAreaField(
            _l("Names — %(kind)s", kind=kind.label), description=_l("Optional, one per line."), filters=[strip], validators=[_names_validator(kind)],
        )
    return type("PartnersForm", (_PartnersBase,), attributes)


PartnersForm = _partners_form_class()


class AttachForm(VersionMixin, FlaskForm):
    document_id = SelectField(
        _l("Document of the toolbox"),
        coerce=optional_int,
        validators=[ChoiceRequired(_l("Choose a document to attach."))],
        invalid_value_message=_l("Choose a document from the list."),
        invalid_choice_message=_l("Choose a document from the list."),
    )


class AttachmentUploadForm(VersionMixin, PublishForm):
    """The toolbox's own form for publishing a document (the same checks), and the roadmap's version."""


class EditorForm(FlaskForm):
    user_id = SelectField(
        _l("Member of the territory"),
        coerce=optional_int,
        validators=[ChoiceRequired(_l("Choose a member of the territory."))],
        invalid_value_message=_l("Choose a member from the list."),
        invalid_choice_message=_l("Choose a member from the list."),
    )


class VersionForm(VersionMixin, FlaskForm):
    """A button that changes the roadmap (detach a document): the CSRF token and the version."""


