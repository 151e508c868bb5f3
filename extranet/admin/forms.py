"""Forms of the administration area.

Choices that depend on the acting user (roles and territories a coordinator may
pick) are set by the view; the view also re-checks them with the permission
predicates, since a form can be posted by hand.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, StopValidation, ValidationError

from extranet.auth.forms import email_field, name_field
from extranet.forms import single_line, strip
from extranet.roles import ORGANISATION_TYPE_LABELS, ROLE_LABELS, OrganisationType, Role


def optional_enum(enum_cls):
    """Coerce a submitted value to a member of ``enum_cls``; the empty option is None."""

    def coerce(value):
        if value is None or value == "":
            return None
        if isinstance(value, enum_cls):
            return value
        return enum_cls(value)  # ValueError on an unknown value: "could not coerce"

    return coerce


def optional_int(value):
    if value is None or value == "":
        return None
    return int(value)


def role_choices(roles=tuple(Role)) -> list[SelectChoice]:
    return [SelectChoice(role.value, ROLE_LABELS[role]) for role in roles]


def territory_choices(territories, empty_label=None) -> list[SelectChoice]:
    choices = [SelectChoice("", empty_label)] if empty_label is not None else []
    return choices + [SelectChoice(str(t.id), t.name) for t in territories]


def organisation_type_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("— Choose a type —"))] + [
        SelectChoice(kind.value, ORGANISATION_TYPE_LABELS[kind]) for kind in OrganisationType
    ]


class ChoiceRequired:
    """A choice must be made; says nothing more when the choice itself was already refused."""

    field_flags = {"required": True}

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if field.data is None and not field.errors:
            raise StopValidation(self.message)


class RoleFieldsMixin:
    """Role, territory and organisation type, which must agree with each other:
    national roles have no territory, territory roles have one, members have an
    organisation type."""

    role = SelectField(
        _l("Role"),
        coerce=optional_enum(Role),
        validators=[ChoiceRequired(_l("Choose a role."))],
        invalid_value_message=_l("Choose a role from the list."),
        invalid_choice_message=_l("Choose a role from the list."),
    )
    territory_id = SelectField(
        _l("Territory"),
        coerce=optional_int,
        description=_l("Required for coordinators and members; none for national roles."),
        invalid_value_message=_l("Choose a territory from the list."),
        invalid_choice_message=_l("Choose a territory from the list."),
    )
    organisation_type = SelectField(
        _l("Organisation type"),
        coerce=optional_enum(OrganisationType),
        description=_l("Required for territory members."),
        choices=organisation_type_choices(),
        invalid_value_message=_l("Choose an organisation type from the list."),
        invalid_choice_message=_l("Choose an organisation type from the list."),
    )

    def validate_territory_id(self, field):
        role = self.role.data
        if role is None:
            return
        if role.is_national and field.data is not None:
            raise ValidationError(_l("A national role has no territory: choose “no territory”."))
        if not role.is_national and field.data is None:
            raise ValidationError(_l("Choose the territory of this coordinator or member."))

    def validate_organisation_type(self, field):
        if self.role.data == Role.MEMBER and field.data is None:
            raise ValidationError(_l("Choose the type of organisation of this member."))


class InvitationForm(RoleFieldsMixin, FlaskForm):
    email = email_field()
    name = name_field()
    organisation = StringField(
        _l("Organisation"),
        validators=[Optional(), Length(max=200)],
        filters=[single_line],
        description=_l("For example: Lyon Métropole Habitat"),
    )


class RoleForm(RoleFieldsMixin, FlaskForm):
    pass


def _http_url(form, field):
    if field.data and not field.data.lower().startswith(("https://", "http://")):
        raise ValidationError(_l("Enter an address starting with https://"))


class TerritoryForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the name of the territory.")), Length(max=200)],
        filters=[single_line],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=5000)],
        filters=[strip],
        description=_l("A few lines on the territory and its Logement d'abord approach. One paragraph per line."),
    )
    contact_email = EmailField(
        _l("Contact email"),
        validators=[
            Optional(),
            Email(_l("Enter a valid email address, such as name@example.fr."), check_deliverability=False),
            Length(max=254),
        ],
        filters=[single_line],
        render_kw={"spellcheck": "false"},
    )
    website = URLField(
        _l("Website"),
        validators=[Optional(), Length(max=500), _http_url],
        filters=[single_line],
        description=_l("For example: https://www.example.fr"),
    )
