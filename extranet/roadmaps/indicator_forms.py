"""Forms of a roadmap's indicators (fiche 4), their reported values and its
budget (fiche 5). Numbers and amounts are typed as people write them
("12 500,50", "60 000 €": :func:`extranet.forms.parse_number`); the field
keeps the text as typed, so a refused entry comes back unchanged beside its
error, and the view reads ``field.number`` (a Decimal) or ``field.cents``."""

from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from extranet.admin.forms import optional_int
from extranet.forms import NumberError, parse_number, single_line, strip
from extranet.roadmaps.indicators import LABEL_MAX
from extranet.roadmaps.services import budget_line_problem
from extranet.roadmaps.models import NAME_MAX, UNIT_MAX, BudgetLineKind

TEXT_MAX = 20_000
YEAR_MIN, YEAR_MAX = 2000, 2100
BAD_DATE = _l("Enter a date, for example 2023-03-31.")

NUMBER_ERRORS = {
    "format": _l("Enter a number, for example 150 or 12,5 (at most two decimals)."),
    "negative": _l("Enter a number greater than or equal to zero."),
    "too_large": _l("Enter a number below one thousand billion."),
}
AMOUNT_ERRORS = {
    "format": _l("Enter an amount in euros, for example 60 000 or 12 500,50."),
    "negative": _l("An amount cannot be negative."),
    "too_large": _l("Enter an amount below one thousand billion euros."),
}


def shown_number(value) -> str:
    """A stored figure as the form shows it: the reader's decimal mark, no
    thousands separator (an English "60,000" would not read back)."""
    if value is None:
        return ""
    return format_decimal(Decimal(value), format="0.##")


def shown_cents(cents) -> str:
    return "" if not cents else shown_number(Decimal(cents) / 100)


class NumberField(StringField):
    """A number ≥ 0 typed as text; ``number`` holds its Decimal (None when empty)."""

    errors_by_reason = NUMBER_ERRORS

    def __init__(self, label=None, validators=None, required_message=None, **kwargs):
        super().__init__(label, validators, filters=[strip], **kwargs)
        self.required_message = required_message
        self.number = None
        if required_message:
            self.flags.required = True

    def pre_validate(self, form):
        try:
            self.number = parse_number(self.data)
        except NumberError as error:
            self.number = None
            raise StopValidation(self.errors_by_reason[error.reason]) from None
        if self.number is None and self.required_message:
            raise StopValidation(self.required_message)


class AmountField(NumberField):
    """An amount in euros; ``cents`` holds it in cents (0 when empty)."""

    errors_by_reason = AMOUNT_ERRORS

    @property
    def cents(self) -> int:
        return int(self.number * 100) if self.number is not None else 0


class DeleteForm(FlaskForm):
    """The confirmation dialog's form: its CSRF token only."""


class VersionedForm(FlaskForm):
    # The roadmap's version when the form was read (services.expect_version).
    version = HiddenField()

    @property
    def version_number(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


# --- Indicators ------------------------------------------------------------------


class IndicatorForm(VersionedForm):
    shared = SelectField(
        _l("Indicator of the national list"),
        coerce=optional_int,
        description=_l("Shared by the network, so that territories' figures add up. Or leave it empty and name your own indicator below."),
        invalid_value_message=_l("Choose an indicator from the list."),
        invalid_choice_message=_l("Choose an indicator from the list."),
    )
    name = StringField(
        _l("Name of your own indicator"),
        filters=[single_line],
        validators=[Length(max=NAME_MAX, message=_l("At most %(max)s characters.", max=NAME_MAX))],
    )
    unit = StringField(
        _l("Unit"),
        filters=[single_line],
        description=_l("For example: households, places, %, days."),
        validators=[Length(max=UNIT_MAX, message=_l("At most %(max)s characters.", max=UNIT_MAX))],
    )
    objective = TextAreaField(
        _l("Objective"),
        filters=[strip],
        description=_l("The objective this indicator measures, qualitative or quantitative."),
        validators=[Optional(), Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX))],
    )

    def validate_name(self, field):
        if getattr(self, "shared_fixed", False):
            return
        if self.shared.data is None and not field.data:
            raise ValidationError(_l("Choose an indicator of the national list or enter the name of your own."))

    @property
    def target_fields(self) -> list[tuple[int, NumberField]]:
        return [(year, getattr(self, f"target_{year}")) for year in self.years]

    def targets(self) -> dict[int, Decimal | None]:
        return {year: field.number for year, field in self.target_fields}


def indicator_form(roadmap, shared_choices, fixed_shared=False, **kwargs) -> IndicatorForm:
    """The form with one target field per year of the roadmap's period.
    ``fixed_shared``: editing an indicator of the national list, whose name and unit stay."""
    years = list(range(roadmap.start_year, roadmap.end_year + 1))

    class Form(IndicatorForm):
        pass

    for year in years:
        setattr(Form, f"target_{year}", NumberField(
            _l("Target for %(year)s", year=year), description=_l("Optional. A number, e.g. 150 or 32,5."),
        ))
    form = Form(**kwargs)
    form.years = years
    form.shared_fixed = fixed_shared
    form.shared.choices = [SelectChoice("", _l("— My own indicator —"))] + [
        SelectChoice(i.id, f"{i.name} ({i.unit})" if i.unit else i.name) for i in shared_choices
    ]
    return form


# --- Values per reporting period -----------------------------------------------------


class ValueForm(VersionedForm):
    period_kind = RadioField(
        _l("Reporting period"),
        choices=[SelectChoice("quarter", _l("A quarter")), SelectChoice("custom", _l("Another period"))],
        default="quarter",
        validators=[DataRequired(_l("Choose a quarter or another period."))],
        invalid_choice_message=_l("Choose a quarter or another period."),
    )
    quarter = SelectField(
        _l("Quarter"),
        default="",  # absent when another period is chosen
        invalid_choice_message=_l("Choose a quarter of the roadmap's period."),
    )
    label = StringField(
        _l("Name of the period"),
        filters=[single_line],
        description=_l("For example: 1st half of 2023."),
        validators=[Length(max=LABEL_MAX, message=_l("At most %(max)s characters.", max=LABEL_MAX))],
    )
    period_start = DateField(_l("First day"), invalid_value_message=BAD_DATE, validators=[Optional()])
    period_end = DateField(_l("Last day"), invalid_value_message=BAD_DATE, validators=[Optional()])
    value = NumberField(_l("Value reached"), required_message=_l("Enter the value reached."))
    comment = TextAreaField(
        _l("Comment"),
        filters=[strip],
        description=_l("Optional: what explains the figure, its source."),
        validators=[Optional(), Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX))],
    )

    @property
    def custom(self) -> bool:
        return self.period_kind.data == "custom"

    def set_quarters(self, quarters):
        self.quarter.choices = [SelectChoice("", _l("Choose a quarter"))] + [SelectChoice(v, label) for v, label in quarters]

    def validate_quarter(self, field):
        if not self.custom and not field.data:
            raise ValidationError(_l("Choose a quarter of the roadmap's period."))

    def validate_label(self, field):
        if self.custom and not field.data:
            raise ValidationError(_l("Name the reporting period, for example “1st half of 2023”."))

    def _check_date(self, field, missing):
        if not self.custom:
            return
        if field.data is None:
            if not field.errors:
                raise ValidationError(missing)
            return
        if not YEAR_MIN <= field.data.year <= YEAR_MAX:
            raise ValidationError(_l("Enter a date between 2000 and 2100."))

    def validate_period_start(self, field):
        self._check_date(field, _l("Enter the first day of the period."))

    def validate_period_end(self, field):
        self._check_date(field, _l("Enter the last day of the period."))
        start = self.period_start.data
        if self.custom and field.data is not None and start is not None and field.data < start:
            raise ValidationError(_l("The period cannot end before it starts."))


# --- Budget -------------------------------------------------------------------------


class BudgetForm(VersionedForm):
    """Per line of fiche 5: ``<kind>_actions``, ``<kind>_total``, ``<kind>_share``."""

    def line(self, kind: BudgetLineKind):
        kind = BudgetLineKind(kind)
        return getattr(self, f"{kind.value}_actions"), getattr(self, f"{kind.value}_total"), getattr(self, f"{kind.value}_share")

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for kind in BudgetLineKind:
            _actions, total, share = self.line(kind)
            if total.errors or share.errors:
                continue
            problem = budget_line_problem(kind, total.cents, share.cents)
            if problem is not None:
                share.errors.append(problem)
                valid = False
        return valid


for _kind in BudgetLineKind:
    setattr(BudgetForm, f"{_kind.value}_actions", TextAreaField(
        _l("Planned actions"), filters=[strip],
        validators=[Optional(), Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX))],
    ))
    setattr(BudgetForm, f"{_kind.value}_total", AmountField(_l("Total cost over 12 months (€)")))
    setattr(BudgetForm, f"{_kind.value}_share", AmountField(_l("Territory's share (€)")))
del _kind
