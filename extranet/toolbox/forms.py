"""Forms of the toolbox.

Choices that depend on the reference data or on the acting user (axes,
territories, visibilities) are set by the view. The file field is checked by
the view (size, real type) once the other fields are read, so that a file is
never kept when the form is refused, and never lost when it is not the file
that was wrong (see ``views._upload``).
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from extranet.admin.forms import ChoiceRequired, optional_enum, optional_int
from extranet.files import ACCEPTED_EXTENSIONS
from extranet.forms import single_line, strip
from extranet.toolbox.models import DOCUMENT_TYPE_LABELS, DocumentType, Visibility, split_keywords
from extranet.toolbox.services import MAX_KEYWORD_LENGTH, MAX_KEYWORDS

ACCEPT = ",".join(f".{ext}" for ext in ACCEPTED_EXTENSIONS)
TERRITORY_MISSING_MESSAGE = _l("Choose the territory whose people may see the document.")
TERRITORY_NOT_OWN_MESSAGE = _l("You can keep a document to a territory only if it is your own: choose your territory.")
GROUP_CHOICE_MESSAGE = _l("Choose one of your working groups: a document can be shared only with a group you belong to.")


def type_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("— Choose a type —"))] + [
        SelectChoice(kind.value, DOCUMENT_TYPE_LABELS[kind]) for kind in DocumentType
    ]


class AtLeastOne:
    """Like DataRequired for a multiple choice, but keeps the message of a
    choice already refused (a hand-made value) instead of replacing it."""

    field_flags = {"required": True}

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not field.data and not field.errors:
            raise StopValidation(self.message)


def _keywords(form, field):
    keywords = split_keywords(field.data)
    if len(keywords) > MAX_KEYWORDS:
        raise ValidationError(_l("At most %(n)s keywords.", n=MAX_KEYWORDS))
    if any(len(k) > MAX_KEYWORD_LENGTH for k in keywords):
        raise ValidationError(_l("A keyword has at most %(n)s characters: separate keywords with commas.", n=MAX_KEYWORD_LENGTH))


class DocumentForm(FlaskForm):
    """What describes a document: the same for publishing and editing."""

    title = StringField(
        _l("Title"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the title of the document.")),
            Length(max=300, message=_l("The title has at most %(max)s characters.", max=300)),
        ],
    )
    summary = TextAreaField(
        _l("Summary"),
        filters=[strip],
        description=_l("What the document is about and who it is for, in a few lines."),
        validators=[
            DataRequired(_l("Write a short summary of the document.")),
            Length(max=5000, message=_l("The summary has at most %(max)s characters.", max=5000)),
        ],
    )
    type = SelectField(
        _l("Type of document"),
        coerce=optional_enum(DocumentType),
        choices=type_choices(),
        validators=[ChoiceRequired(_l("Choose the type of document."))],
        invalid_value_message=_l("Choose a type from the list."),
        invalid_choice_message=_l("Choose a type from the list."),
    )
    axes = SelectMultipleField(
        _l("Axes of the plan"),
        coerce=int,
        description=_l("The axes of the Logement d'abord plan this document serves: one or more."),
        validators=[AtLeastOne(_l("Choose at least one axis of the plan."))],
        invalid_value_message=_l("Choose axes from the list."),
        invalid_choice_message=_l("Choose axes from the list."),
    )
    keywords = StringField(
        _l("Keywords"),
        filters=[single_line],
        description=_l("Optional, separated by commas. For example: accompagnement, bail glissant, santé mentale"),
        validators=[Optional(), Length(max=1000, message=_l("At most %(max)s characters.", max=1000)), _keywords],
    )
    territory_id = SelectField(
        _l("Territory"),
        coerce=optional_int,
        description=_l("The territory the document comes from, if any."),
        invalid_value_message=_l("Choose a territory from the list."),
        invalid_choice_message=_l("Choose a territory from the list."),
    )
    visibility = RadioField(
        _l("Who can see it"),
        coerce=optional_enum(Visibility),
        validators=[ChoiceRequired(_l("Choose who can see the document."))],
        invalid_value_message=_l("Choose who can see the document."),
        invalid_choice_message=_l("Choose who can see the document."),
    )
    # Offered (choices set by the view) to those who may share with a group;
    # read only when the visibility is "a working group".
    group_id = SelectField(
        _l("Working group"),
        coerce=optional_int,
        description=_l("For a document shared with a working group: which one."),
        validate_choice=False,  # checked below, once the visibility is known
        invalid_value_message=GROUP_CHOICE_MESSAGE,
    )

    def validate_territory_id(self, field):
        if self.visibility.data == Visibility.TERRITORY and field.data is None and not field.errors:
            raise ValidationError(TERRITORY_MISSING_MESSAGE)

    def validate_group_id(self, field):
        if self.visibility.data != Visibility.GROUP:
            field.data = None
            return
        if field.data is None:
            raise ValidationError(_l("Choose the working group to share the document with."))
        if str(field.data) not in {str(choice.value) for choice in field.choices or ()}:
            raise ValidationError(GROUP_CHOICE_MESSAGE)


class UploadMixin:
    # Required, but checked by the view: a file received with a form refused
    # for another reason is kept aside (``upload_token``) and need not be sent again.
    file = FileField(
        _l("File"),
        description=_l(
            "PDF, Word (DOCX, DOC), OpenDocument (ODT, ODS, ODP), Excel (XLSX), PowerPoint (PPTX), CSV, text, PNG or JPEG."
        ),
        render_kw={"accept": ACCEPT},
    )
    upload_token = HiddenField()


class PublishForm(UploadMixin, DocumentForm):
    pass


class VersionForm(UploadMixin, FlaskForm):
    note = StringField(
        _l("What changed"),
        filters=[single_line],
        description=_l("A short note for readers, for example: figures for 2024 added."),
        validators=[
            DataRequired(_l("Say in a few words what changed in this version.")),
            Length(max=500, message=_l("At most %(max)s characters.", max=500)),
        ],
    )
