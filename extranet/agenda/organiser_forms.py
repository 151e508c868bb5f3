"""Forms of the organisers' pages: a message to the registrants, cancelling
the event, marking someone present."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from extranet.agenda.organiser import BODY_MAX, REASON_MAX, SUBJECT_MAX
from extranet.forms import single_line, strip


class MessageForm(FlaskForm):
    subject = StringField(
        _l("Subject"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the subject of the message.")),
            Length(max=SUBJECT_MAX, message=_l("The subject has at most %(max)s characters.", max=SUBJECT_MAX)),
        ],
    )
    body = TextAreaField(
        _l("Message"),
        filters=[strip],
        description=_l("Plain text. Each person gets it by email, with a link to the event page."),
        validators=[
            DataRequired(_l("Enter the message.")),
            Length(max=BODY_MAX, message=_l("The message has at most %(max)s characters.", max=BODY_MAX)),
        ],
    )
    include_waitlisted = BooleanField(_l("Also send it to the people on the waiting list"))


class CancelEventForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional)"),
        filters=[strip],
        description=_l("Shown on the event page and in the email sent to each registered or waiting person."),
        validators=[Optional(), Length(max=REASON_MAX, message=_l("At most %(max)s characters.", max=REASON_MAX))],
    )


class CheckInForm(FlaskForm):
    present = HiddenField(validators=[AnyOf(["1", "0"])])
