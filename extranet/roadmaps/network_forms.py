"""Forms of the national team's pages: an indicator of the national list."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from extranet.forms import single_line, strip
from extranet.roadmaps.models import NAME_MAX, UNIT_MAX, Aggregation

DESCRIPTION_MAX = 5000


class IndicatorRefForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[single_line],
        description=_l("As territories will read it, e.g. “Households housed straight from the street”."),
        validators=[
            DataRequired(_l("Enter the name of the indicator.")),
            Length(max=NAME_MAX, message=_l("The name has at most %(max)s characters.", max=NAME_MAX)),
        ],
    )
    unit = StringField(
        _l("Unit"),
        filters=[single_line],
        description=_l("Optional: households, people, %, days…"),
        validators=[Optional(), Length(max=UNIT_MAX, message=_l("The unit has at most %(max)s characters.", max=UNIT_MAX))],
    )
    description = TextAreaField(
        _l("Definition"),
        filters=[strip],
        description=_l("Optional: what is counted and how, so that every territory counts the same thing."),
        validators=[Optional(), Length(max=DESCRIPTION_MAX, message=_l("At most %(max)s characters.", max=DESCRIPTION_MAX))],
    )
    aggregation = RadioField(
        _l("How it adds up"),
        choices=[SelectChoice(a.value, a.label) for a in Aggregation],
        default=Aggregation.FLOW.value,
        description=_l("Over the quarters of a year and across territories, in the network's totals and each roadmap's progress."),
        validators=[DataRequired(_l("Choose how the indicator adds up."))],
    )
    position = IntegerField(
        _l("Position in the list"),
        default=0,
        description=_l("Smaller numbers come first."),
        validators=[Optional(), NumberRange(min=0, max=10_000, message=_l("Enter a number from 0 to 10,000."))],
    )
