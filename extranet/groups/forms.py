"""Forms of the working groups.

Choices that depend on the database (axes, animators, target groups) are set
by the view. Attachments are checked by the view (size, real type) once the
other fields are read, like toolbox files.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from extranet.admin.forms import ChoiceRequired, optional_enum, optional_int
from extranet.files import ACCEPTED_EXTENSIONS
from extranet.forms import single_line, strip
from extranet.groups.models import NOTIFICATION_LABELS, NotificationPreference
from extranet.groups.services import BODY_MAX, JOIN_MESSAGE_MAX, MAX_ATTACHMENTS, TITLE_MAX

ACCEPT = ",".join(f".{ext}" for ext in ACCEPTED_EXTENSIONS)


def _open_choice(value):
    if value in (True, "open"):
        return "open"
    if value in (False, "closed"):
        return "closed"
    return None


class GroupForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the name of the group.")),
            Length(max=200, message=_l("The name has at most %(max)s characters.", max=200)),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        filters=[strip],
        description=_l("What the group works on, for whom, how often it meets. Markdown: **bold**, *italics*, lists, [links](https://…)."),
        validators=[Optional(), Length(max=BODY_MAX, message=_l("At most %(max)s characters.", max=BODY_MAX))],
    )
    axes = SelectMultipleField(
        _l("Axes of the plan"),
        coerce=int,
        description=_l("The axes of the Logement d'abord plan the group works on, if any."),
        invalid_value_message=_l("Choose axes from the list."),
        invalid_choice_message=_l("Choose axes from the list."),
    )
    access = RadioField(
        _l("Who can join"),
        coerce=_open_choice,
        choices=[
            SelectChoice("open", _l("Open: any account joins at once and reads the discussions")),
            SelectChoice("closed", _l("Closed: an animator accepts each request; only members and the national team read the discussions")),
        ],
        validators=[ChoiceRequired(_l("Choose whether the group is open or closed."))],
        invalid_value_message=_l("Choose whether the group is open or closed."),
        invalid_choice_message=_l("Choose whether the group is open or closed."),
    )
    animators = SelectMultipleField(
        _l("Animators"),
        coerce=int,
        description=_l("They accept join requests and moderate the discussions. Hold Ctrl (or Cmd) to choose several."),
        invalid_value_message=_l("Choose the animators from the list."),
        invalid_choice_message=_l("Choose the animators from the list."),
    )
    archived = BooleanField(
        _l("Archived"),
        description=_l("The group stays readable, but takes no new member, thread or message."),
    )


class JoinRequestForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the animators"),
        filters=[strip],
        description=_l("Optional: who you are, why you would like to join."),
        validators=[Optional(), Length(max=JOIN_MESSAGE_MAX, message=_l("At most %(max)s characters.", max=JOIN_MESSAGE_MAX))],
    )


class NotificationForm(FlaskForm):
    notification = RadioField(
        _l("Emails from this group"),
        coerce=optional_enum(NotificationPreference),
        choices=[SelectChoice(p.value, NOTIFICATION_LABELS[p]) for p in NotificationPreference],
        validators=[ChoiceRequired(_l("Choose how you want to hear from this group."))],
        invalid_value_message=_l("Choose how you want to hear from this group."),
        invalid_choice_message=_l("Choose how you want to hear from this group."),
    )


def _body_field(label):
    return TextAreaField(
        label,
        description=_l("Markdown: **bold**, *italics*, > quotation, - lists, [link](https://…). "
                       "Type @ and the first letters of a name to mention someone: they are told by email."),
        validators=[
            DataRequired(_l("Write your message.")),
            Length(max=BODY_MAX, message=_l("A message has at most %(max)s characters.", max=BODY_MAX)),
        ],
    )


class AttachmentsMixin:
    # Checked by the view: files received with a form refused for another
    # reason are kept aside (``upload_token``) and need not be sent again.
    attachments = MultipleFileField(
        _l("Attached files"),
        description=_l(
            "Optional, at most %(n)s. PDF, Word, OpenDocument, Excel, PowerPoint, CSV, text, PNG or JPEG.", n=MAX_ATTACHMENTS
        ),
        render_kw={"accept": ACCEPT, "multiple": True},
    )
    upload_token = HiddenField()


class ThreadForm(AttachmentsMixin, FlaskForm):
    title = StringField(
        _l("Title"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the title of the thread.")),
            Length(max=TITLE_MAX, message=_l("The title has at most %(max)s characters.", max=TITLE_MAX)),
        ],
    )
    body = _body_field(_l("Message"))


class ReplyForm(AttachmentsMixin, FlaskForm):
    body = _body_field(_l("Your reply"))


class EditMessageForm(FlaskForm):
    body = _body_field(_l("Message"))


class MoveThreadForm(FlaskForm):
    group = SelectField(
        _l("Move to the group"),
        coerce=optional_int,
        validators=[ChoiceRequired(_l("Choose the group to move the thread to."))],
        invalid_value_message=_l("Choose a group from the list."),
        invalid_choice_message=_l("Choose a group from the list."),
    )
