"""Forms of the review workflow: submitting, validating, sending back, commenting.

Every form that changes the roadmap's status carries the roadmap's version
the page was read at (``version``), so a decision or a submission made on a
page someone changed meanwhile is refused instead of applied to what the
person has not read."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from extranet.forms import strip
from extranet.roadmaps.models import RoadmapSection

TEXT_MAX = 20_000
MARKDOWN_HINT = _l("Markdown: **bold**, *italics*, lists, [links](https://…).")


def posted_version(form) -> int | None:
    """The version the page was read at; None (a conflict) when it is missing or garbled."""
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        return None


class VersionForm(FlaskForm):
    """Submit and validate: a button, the CSRF token and the version read."""

    version = HiddenField()


class SendBackForm(FlaskForm):
    version = HiddenField()
    message = TextAreaField(
        _l("What the territory should change"),
        filters=[strip],
        description=MARKDOWN_HINT,
        validators=[
            DataRequired(_l("Say what the territory should change.")),
            Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX)),
        ],
    )


class CommentForm(FlaskForm):
    section = HiddenField(
        validators=[AnyOf([s.value for s in RoadmapSection], message=_l("Choose a section of the roadmap."))],
    )
    body = TextAreaField(
        _l("Your comment"),
        filters=[strip],
        description=MARKDOWN_HINT,
        validators=[
            DataRequired(_l("Write your comment.")),
            Length(max=TEXT_MAX, message=_l("At most %(max)s characters.", max=TEXT_MAX)),
        ],
    )
