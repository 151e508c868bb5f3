"""The form of a roadmap's action. The view sets the choices that depend on
the database (the plan's axes, the documents the person may open)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from extranet.admin.forms import ChoiceRequired, optional_enum, optional_int
from extranet.forms import single_line, strip
from extranet.roadmaps.content import DESCRIPTION_MAX, PARTNERS_MAX
from extranet.roadmaps.models import (
    ACTION_ORIGIN_LABELS,
    ACTION_STATUS_LABELS,
    NAME_MAX,
    TITLE_MAX,
    ActionOrigin,
    ActionStatus,
)
from extranet.roadmaps.services import YEAR_MAX, YEAR_MIN

BAD_DATE = _l("Enter a date, for example 2024-03-31.")
CHOOSE_AXIS = _l("Choose an axis of the plan from the list.")
CHOOSE_DOCUMENTS = _l("Choose documents from the list.")


def plausible_year(form, field):
    """Year 1 or 9999 is a typo, not a plan: the years a roadmap may cover.
    Not the roadmap's own period, which an action may start before or outlast."""
    if field.data and not YEAR_MIN <= field.data.year <= YEAR_MAX:
        raise ValidationError(_l("Enter a date between %(min)s and %(max)s.", min=YEAR_MIN, max=YEAR_MAX))


class ActionForm(FlaskForm):
    axis = SelectField(
        _l("Axis of the plan"),
        coerce=optional_int,
        validators=[ChoiceRequired(CHOOSE_AXIS)],
        invalid_value_message=CHOOSE_AXIS,
        invalid_choice_message=CHOOSE_AXIS,
    )
    title = StringField(
        _l("Title of the action"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the title of the action.")),
            Length(max=TITLE_MAX, message=_l("The title has at most %(max)s characters.", max=TITLE_MAX)),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        filters=[strip],
        description=_l("What the action does, for whom, how. Markdown: **bold**, *italics*, lists, [links](https://…)."),
        validators=[Optional(), Length(max=DESCRIPTION_MAX, message=_l("At most %(max)s characters.", max=DESCRIPTION_MAX))],
    )
    origin = RadioField(
        _l("Origin of the action"),
        coerce=optional_enum(ActionOrigin),
        choices=[SelectChoice(o.value, ACTION_ORIGIN_LABELS[o]) for o in ActionOrigin],
        default=ActionOrigin.NEW.value,
        validators=[ChoiceRequired(_l("Say whether the action is new or an existing one to strengthen."))],
        invalid_value_message=_l("Say whether the action is new or an existing one to strengthen."),
        invalid_choice_message=_l("Say whether the action is new or an existing one to strengthen."),
    )
    lead_organisation = StringField(
        _l("Lead organisation"),
        filters=[single_line],
        description=_l("The organisation that carries the action, e.g. the metropolis, the SIAO."),
        validators=[Optional(), Length(max=NAME_MAX, message=_l("At most %(max)s characters.", max=NAME_MAX))],
    )
    partners = TextAreaField(
        _l("Partners"),
        filters=[strip],
        description=_l("The organisations taking part, e.g. CAF, social landlords, associations."),
        validators=[Optional(), Length(max=PARTNERS_MAX, message=_l("At most %(max)s characters.", max=PARTNERS_MAX))],
    )
    starts_on = DateField(_l("Start"), invalid_value_message=BAD_DATE, validators=[Optional(), plausible_year])
    ends_on = DateField(_l("End"), invalid_value_message=BAD_DATE, validators=[Optional(), plausible_year])
    status = SelectField(
        _l("Status"),
        coerce=optional_enum(ActionStatus),
        choices=[SelectChoice(s.value, ACTION_STATUS_LABELS[s]) for s in ActionStatus],
        default=ActionStatus.TO_START.value,
        validators=[ChoiceRequired(_l("Choose the status of the action."))],
        invalid_value_message=_l("Choose the status of the action."),
        invalid_choice_message=_l("Choose the status of the action."),
    )
    documents = SelectMultipleField(
        _l("Documents of the toolbox"),
        coerce=int,
        description=_l("Each is shown only to people who may open it in the toolbox."),
        invalid_value_message=CHOOSE_DOCUMENTS,
        invalid_choice_message=CHOOSE_DOCUMENTS,
    )
    version = HiddenField()

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The action cannot end before it starts."))
