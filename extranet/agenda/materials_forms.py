"""Forms of the pages after the event: its materials and recording. The view
sets the documents' choices (those the organiser may open)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import ValidationError

from extranet.agenda.materials import recording_url_problem
from extranet.forms import single_line


class MaterialsForm(FlaskForm):
    documents = SelectMultipleField(
        _l("Documents of the toolbox"),
        coerce=int,
        description=_l("Minutes, slides: each is shown only to people who may open it in the toolbox."),
        invalid_value_message=_l("Choose documents from the list."),
        invalid_choice_message=_l("Choose documents from the list."),
    )
    recording_url = StringField(
        _l("Link to the recording"),
        filters=[single_line],
        description=_l("Optional: an address starting with https://."),
    )

    def validate_recording_url(self, field):
        if field.data:
            problem = recording_url_problem(field.data)
            if problem:
                raise ValidationError(problem)
