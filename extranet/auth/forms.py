
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp, ValidationError

from extranet import LANGUAGES
from extranet.forms import single_line, strip

PASSWORD_MIN_LENGTH = 12

# Metropolitan France and the overseas territories where network members work.
TIMEZONES = [
    ("Europe/Paris", _l("Paris (metropolitan France, Corsica)")),
    ("Indian/Reunion", _l("La Réunion")),
    ("Indian/Mayotte", _l("Mayotte")),
    ("America/Martinique", _l("Martinique")),
    ("America/Guadeloupe", _l("Guadeloupe")),
    ("America/Cayenne", _l("French Guiana")),
    ("America/Miquelon", _l("Saint-Pierre-et-Miquelon")),
    ("Pacific/Noumea", _l("New Caledonia")),
    ("Pacific/Tahiti", _l("French Polynesia (Tahiti)")),
    ("Pacific/Wallis", _l("Wallis and Futuna")),
    ("UTC", _l("UTC")),
]


def email_field(label=None):
    # Stripped like a browser does for type=email, so a pasted " name@example.fr " still works.
    return EmailField(
        label or _l("Email address"),
        filters=[strip],
        validators=[
            DataRequired(_l("Enter an email address.")),
            Email(_l("Enter a valid email address, such as name@example.fr."), check_deliverability=False),
            Length(max=254),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


def name_field():
    return StringField(
        _l("First and last name"),
        filters=[single_line],
        validators=[DataRequired(_l("Enter a name.")), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )


def _not_blank(form, field):
    if field.data and not field.data.strip():
        raise ValidationError(_l("The password cannot be made of spaces only."))


class NewPasswordMixin:
    password = PasswordField(
        _l("New password"),
        description=_l("At least %(n)s characters. A sentence of several words is easy to remember.", n=PASSWORD_MIN_LENGTH),
        validators=[
            DataRequired(_l("Choose a password.")),
            Length(
                min=PASSWORD_MIN_LENGTH,
                max=128,
                message=_l("The password must be between %(min)s and %(max)s characters long.", min=PASSWORD_MIN_LENGTH, max=128),
            ),
            _not_blank,
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Confirm the password"),
        validators=[DataRequired(_l("Type the password again.")), EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password."))], render_kw={"autocomplete": "current-password"}
    )
    remember = BooleanField(_l("Remember me"))


class ForgotPasswordForm(FlaskForm):
    email = email_field()


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class AcceptInvitationForm(NewPasswordMixin, FlaskForm):
    name = name_field()


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


class ProfileForm(FlaskForm):
    name = name_field()
    function = StringField(
        _l("Function"), filters=[single_line], validators=[Optional(), Length(max=200)], render_kw={"autocomplete": "organization-title"}
    )
    organisation = StringField(
        _l("Organisation"), filters=[single_line], validators=[Optional(), Length(max=200)], render_kw={"autocomplete": "organization"}
    )
    phone = TelField(
        _l("Phone"),
        filters=[single_line],
        description=_l("For example 01 23 45 67 89 or +262 262 12 34 56"),
        validators=[
            Optional(),
            Length(max=40),
            Regexp(r"^\+?[0-9 .()-]{6,}$", message=_l("Enter a phone number made of digits, spaces, dots or dashes.")),
        ],
        render_kw={"autocomplete": "tel"},
    )
    timezone = SelectField(
        _l("Time zone"),
        choices=[SelectChoice(value, label) for value, label in TIMEZONES],
        description=_l("Dates and times are shown in this time zone."),
    )
    language = SelectField(_l("Language"), choices=[SelectChoice(code, label) for code, label in LANGUAGES.items()])
