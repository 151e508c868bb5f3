"""Forms of the agenda. Times are typed in the organiser's own time zone; the
view turns them into UTC. Choices that depend on the database (axes, groups)
are set by the view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from extranet.admin.forms import ChoiceRequired, optional_enum, optional_int
from extranet.agenda.models import EVENT_KIND_LABELS, TITLE_MAX, EventKind
from extranet.forms import single_line, strip

TEXT_MAX = 20_000
DATETIME_FORMAT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
BAD_TIME = _l("Enter a date and a time, for example 2027-03-14 14:30.")


def _positive(label):
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(min=1, max=100_000, message=_l("Enter a number from 1 to 100,000."))],
    )


class EventForm(FlaskForm):
    kind = SelectField(
        _l("Kind of event"),
        coerce=optional_enum(EventKind),
        choices=[SelectChoice("", _l("Choose a kind"))] + [SelectChoice(k.value, EVENT_KIND_LABELS[k]) for k in EventKind],
        validators=[ChoiceRequired(_l("Choose the kind of event."))],
        invalid_value_message=_l("Choose the kind of event."),
        invalid_choice_message=_l("Choose the kind of event."),
    )
    title = StringField(
        _l("Title"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the title of the event.")),
            Length(max=TITLE_MAX, message=_l("The title has at most %(max)s characters.", max=TITLE_MAX)),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        filters=[strip],
        description=_l("Programme, audience, preparation. Markdown: **bold**, *italics*, lists, [links](https://…)."),
        validators=[Optional(), Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX))],
    )
    starts_at = DateTimeLocalField(
        _l("Start"), format=DATETIME_FORMAT, invalid_value_message=BAD_TIME, validators=[InputRequired(_l("Enter the start of the event."))]
    )
    ends_at = DateTimeLocalField(_l("End"), format=DATETIME_FORMAT, invalid_value_message=BAD_TIME, validators=[InputRequired(_l("Enter the end of the event."))])
    group = SelectField(
        _l("Working group"),
        coerce=optional_int,
        description=_l("Optional: the working group the event belongs to."),
        invalid_value_message=_l("Choose a group from the list."),
        invalid_choice_message=_l("Choose a group from the list."),
    )
    axes = SelectMultipleField(
        _l("Axes of the plan"),
        coerce=int,
        invalid_value_message=_l("Choose axes from the list."),
        invalid_choice_message=_l("Choose axes from the list."),
    )
    speakers = TextAreaField(_l("Speakers"), filters=[strip], validators=[Optional(), Length(max=2000, message=_l("At most %(max)s characters.", max=2000))])
    place = TextAreaField(
        _l("Place"),
        filters=[strip],
        description=_l("The address, for an event in person."),
        validators=[Optional(), Length(max=2000, message=_l("At most %(max)s characters.", max=2000))],
    )
    joining_details = TextAreaField(
        _l("Joining details"),
        filters=[strip],
        description=_l("Dial-in number, video link: shown only to registered people."),
        validators=[Optional(), Length(max=2000, message=_l("At most %(max)s characters.", max=2000))],
    )
    capacity = _positive(_l("Capacity"))
    seats_per_territory = _positive(_l("Seats per territory"))
    registration_opens_at = DateTimeLocalField(_l("Registration opens"), format=DATETIME_FORMAT, invalid_value_message=BAD_TIME, validators=[Optional()])
    registration_deadline = DateTimeLocalField(_l("Registration deadline"), format=DATETIME_FORMAT, invalid_value_message=BAD_TIME, validators=[Optional()])
    # "default": the kind's reminders (EXTRANET_AGENDA_REMINDERS); minutes
    # before the start otherwise; nothing ticked: no reminder.
    reminders = SelectMultipleField(
        _l("Reminders by email to registered people"),
        choices=[
            SelectChoice("default", _l("The usual reminders for this kind of event")),
            SelectChoice("10080", _l("1 week before")),
            SelectChoice("2880", _l("2 days before")),
            SelectChoice("1440", _l("24 hours before")),
            SelectChoice("60", _l("1 hour before")),
            SelectChoice("15", _l("15 minutes before")),
        ],
        default=["default"],
        description=_l("Usually 24 hours before, and also 1 hour before an Amicall. Tick none for no reminder."),
        invalid_choice_message=_l("Choose reminders from the list."),
        invalid_value_message=_l("Choose reminders from the list."),
    )

    def validate_reminders(self, field):
        from wtforms.validators import ValidationError

        if "default" in (field.data or []) and len(field.data) > 1:
            raise ValidationError(_l("Choose either the usual reminders or your own times, not both."))


class EmptyForm(FlaskForm):
    """The POST buttons: only the CSRF token."""


class MemberForm(FlaskForm):
    """A coordinator registers a member of their territory; the view sets the choices."""

    member = SelectField(
        _l("Person to register"),
        coerce=optional_int,
        validators=[ChoiceRequired(_l("Choose the person to register."))],
        invalid_value_message=_l("Choose the person to register."),
        invalid_choice_message=_l("Choose the person to register."),
    )
