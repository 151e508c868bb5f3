"""Forms of the agenda. Times are typed in the organiser's own time zone; the
view turns them into UTC. Choices that depend on the database (axes, groups)
are set by the view."""

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from extranet.admin.forms import ChoiceRequired, optional_enum, optional_int
from extranet.agenda.models import EVENT_KIND_LABELS, QUESTION_KIND_LABELS, TITLE_MAX, EventKind, QuestionKind
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


# --- Programme, registration questions and the registration form ---------------------------


class SessionForm(FlaskForm):
    """A workshop of the programme; times in the organiser's time zone."""

    title = StringField(
        _l("Title of the workshop"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the title of the workshop.")),
            Length(max=TITLE_MAX, message=_l("The title has at most %(max)s characters.", max=TITLE_MAX)),
        ],
    )
    description = TextAreaField(
        _l("Description"), filters=[strip], validators=[Optional(), Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX))]
    )
    starts_at = DateTimeLocalField(_l("Start of the workshop"), format=DATETIME_FORMAT, invalid_value_message=BAD_TIME, validators=[Optional()])
    ends_at = DateTimeLocalField(_l("End of the workshop"), format=DATETIME_FORMAT, invalid_value_message=BAD_TIME, validators=[Optional()])
    capacity = IntegerField(
        _l("Places in the workshop"),
        description=_l("Empty: no limit."),
        validators=[Optional(), NumberRange(min=1, max=100_000, message=_l("Enter a number from 1 to 100,000."))],
    )
    position = IntegerField(
        _l("Position in the programme"),
        description=_l("Workshops are shown from the smallest number to the largest. Empty: at the end."),
        validators=[Optional(), NumberRange(min=0, max=1000, message=_l("Enter a number from 0 to 1,000."))],
    )


class ProgrammeSettingsForm(FlaskForm):
    max_sessions_per_person = IntegerField(
        _l("Workshops one person may choose"),
        description=_l("Empty: as many as they like."),
        validators=[Optional(), NumberRange(min=1, max=100, message=_l("Enter a number from 1 to 100."))],
    )


class QuestionForm(FlaskForm):
    kind = SelectField(
        _l("Kind of question"),
        coerce=optional_enum(QuestionKind),
        choices=[SelectChoice("", _l("Choose a kind"))] + [SelectChoice(k.value, QUESTION_KIND_LABELS[k]) for k in QuestionKind],
        validators=[ChoiceRequired(_l("Choose the kind of question."))],
        invalid_value_message=_l("Choose the kind of question."),
        invalid_choice_message=_l("Choose the kind of question."),
    )
    label = StringField(
        _l("Question"),
        filters=[single_line],
        validators=[DataRequired(_l("Enter the question.")), Length(max=300, message=_l("At most %(max)s characters.", max=300))],
    )
    help_text = StringField(
        _l("Help text"), filters=[single_line], validators=[Optional(), Length(max=500, message=_l("At most %(max)s characters.", max=500))]
    )
    required = BooleanField(_l("An answer is required"))
    options = TextAreaField(
        _l("Options"),
        filters=[strip],
        description=_l("For a choice in a list: one option a line, at least two. The attendance mode always offers “In person” and “Remote”."),
        validators=[Optional(), Length(max=5000, message=_l("At most %(max)s characters.", max=5000))],
    )
    position = IntegerField(
        _l("Position in the form"),
        description=_l("Questions are asked from the smallest number to the largest. Empty: at the end."),
        validators=[Optional(), NumberRange(min=0, max=1000, message=_l("Enter a number from 0 to 1,000."))],
    )

    def validate_options(self, field):
        if self.kind.data in (QuestionKind.CHOICE, QuestionKind.MULTIPLE):
            options = {line.strip() for line in (field.data or "").splitlines() if line.strip()}
            if len(options) < 2:
                raise ValidationError(_l("Give at least two options, one a line."))


ANSWER_MAX = 2000


def registration_form(event, options_of, *, max_sessions=None, formdata=_Auto, data=None):
    """The registration form of ``event``: a field ``question_<id>`` per
    question and ``sessions`` (workshop ids) when it has workshops.
    ``options_of(question)`` gives (value, label) pairs of a choice."""
    fields = {}
    for question in event.questions:
        label, hint = question.label, question.help_text or None
        if question.kind == QuestionKind.TEXT:
            validators = [DataRequired(_l("Answer this question."))] if question.required else [Optional()]
            field = TextAreaField(label, description=hint, filters=[strip],
                                  validators=validators + [Length(max=ANSWER_MAX, message=_l("At most %(max)s characters.", max=ANSWER_MAX))])
        elif question.kind == QuestionKind.MULTIPLE:
            field = SelectMultipleField(
                label, description=hint, choices=[SelectChoice(v, text) for v, text in options_of(question)],
                validators=[InputRequired(_l("Choose at least one option."))] if question.required else [Optional()],
                invalid_choice_message=_l("Choose one of the options."),
            )
        else:
            field = RadioField(
                label, description=hint, choices=[SelectChoice(v, text) for v, text in options_of(question)],
                validators=[InputRequired(_l("Answer this question."))] if question.required else [Optional()],
                invalid_choice_message=_l("Choose one of the options."),
            )
        fields[f"question_{question.id}"] = field
    if event.sessions:
        fields["sessions"] = SelectMultipleField(
            _l("Workshops"),
            coerce=int,
            choices=[SelectChoice(s.id, s.title) for s in event.sessions],
            validators=[Optional()],
            invalid_value_message=_l("Choose workshops from the list."),
            invalid_choice_message=_l("Choose workshops from the list."),
        )

        def validate_sessions(form, field):
            if max_sessions is not None and len(field.data or []) > max_sessions:
                raise ValidationError(ngettext("Choose at most %(num)s workshop.", "Choose at most %(num)s workshops.", max_sessions))

        fields["validate_sessions"] = validate_sessions
    form_class = type("RegistrationForm", (FlaskForm,), fields)
    return form_class(formdata=formdata, data=data)


def answers_from(form, event) -> dict[int, str]:
    """The answers of a validated registration form, as the service takes them (several choices one a line)."""
    answers = {}
    for question in event.questions:
        value = form[f"question_{question.id}"].data
        if isinstance(value, list):
            value = "\n".join(value)
        answers[question.id] = value or ""
    return answers
