"""French dates write the first day of a month « 1er avril » (dates filter and
the agenda's times); other days, other formats and English are unchanged."""

from datetime import date, datetime

import pytest
from flask import render_template_string
from flask_babel import force_locale

from extranet.agenda.services import format_time
from extranet.timeutil import first_of_month_pattern


@pytest.mark.parametrize("value, fmt, language, expected", [
    (date(2025, 4, 1), "long", "fr", "1er avril 2025"),
    (date(2025, 4, 1), "d MMMM y", "fr", "1er avril 2025"),
    (date(2025, 4, 1), "medium", "fr", "1er avr. 2025"),
    (date(2025, 4, 2), "long", "fr", "2 avril 2025"),
    (date(2025, 4, 11), "d MMMM y", "fr", "11 avril 2025"),
    (date(2025, 4, 1), "short", "fr", "01/04/2025"),
    (date(2025, 4, 1), "long", "en", "April 1, 2025"),
    # Stored in UTC, shown in Paris: 31 March 23:30 UTC is the 1st of April there.
    (datetime(2025, 3, 31, 23, 30), "long", "fr", "1er avril 2025"),
    (datetime(2025, 4, 1, 0, 30), "long", "fr", "1er avril 2025"),
])
def test_the_dateformat_filter(app, value, fmt, language, expected):
    with app.test_request_context(), force_locale(language):
        assert render_template_string("{{ value | dateformat(fmt) }}", value=value, fmt=fmt) == expected


def test_quoted_literals_and_long_days_are_left_alone():
    assert first_of_month_pattern("EEEE d MMMM y 'de' HH:mm", 1, "fr") == "EEEE d'er' MMMM y 'de' HH:mm"
    assert first_of_month_pattern("dd MMMM y", 1, "fr") == "dd MMMM y"
    assert first_of_month_pattern("'d' d MMMM", 1, "fr_FR") == "'d' d'er' MMMM"


def test_the_agenda_writes_the_first_in_the_readers_zone(app):
    with app.test_request_context(), force_locale("fr"):
        # 1 December 2027, 09:00 in Paris; still 30 November in Cayenne.
        assert format_time(datetime(2027, 12, 1, 8, 0), "Europe/Paris").startswith("mercredi 1er décembre 2027")
        assert format_time(datetime(2027, 12, 1, 2, 0), "America/Cayenne").startswith("mardi 30 novembre 2027")
