"""The French catalog is complete, sound and in step with the sources.

These tests only read files: they do not need the application fixtures.
French is the default language of the extranet, so a string added to a
template or to the code without a French translation makes them fail, with
the list of the strings to translate (see the Makefile or the catalog header
for the pybabel commands).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "extranet" / "translations"
FRENCH_PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"

# %(name)s, %(n)d, %s ... ("%%" is a literal percent sign, not a placeholder).
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?([diouxXeEfFgGcrsa%])")
NBSP = "\u00a0"


def placeholders(text: str) -> set[str]:
    found = set()
    for match in PLACEHOLDER.finditer(text):
        name, conversion = match.groups()
        if conversion == "%":
            continue
        found.add(f"%({name}){conversion}" if name else f"%{conversion}")
    return found


def ids(message) -> tuple[str, ...]:
    return tuple(message.id) if message.pluralizable else (message.id,)


def strings(message) -> tuple[str, ...]:
    if message.pluralizable:
        return tuple(message.string or ())
    return (message.string,)


def show(message) -> str:
    return " | ".join(ids(message))


@pytest.fixture(scope="module")
def french_catalog():
    with FRENCH_PO.open("rb") as f:
        return read_po(f, locale="fr")


@pytest.fixture(scope="module")
def french_messages(french_catalog):
    return [message for message in french_catalog if message.id]


def test_french_catalog_header(french_catalog):
    assert str(french_catalog.locale) == "fr"
    headers = dict(french_catalog.mime_headers)
    assert headers.get("Language") == "fr"
    assert headers.get("Plural-Forms") == "nplurals=2; plural=(n > 1);"
    assert "charset=utf-8" in headers.get("Content-Type", "").lower()
    assert not french_catalog.fuzzy, "the header of fr/messages.po is marked fuzzy"


def test_every_french_translation_is_done(french_messages):
    assert french_messages, "fr/messages.po has no message"
    untranslated = [show(m) for m in french_messages if not all(s and s.strip() for s in strings(m))]
    assert not untranslated, "Untranslated strings in fr/messages.po:\n" + "\n".join(untranslated)
    fuzzy = [show(m) for m in french_messages if m.fuzzy]
    assert not fuzzy, "Fuzzy (unchecked) translations in fr/messages.po:\n" + "\n".join(fuzzy)


def test_french_translations_keep_placeholders(french_messages):
    wrong = []
    for message in french_messages:
        expected = set().union(*(placeholders(i) for i in ids(message)))
        for index, string in enumerate(strings(message)):
            got = placeholders(string or "")
            if got != expected:
                form = f"[{index}]" if message.pluralizable else ""
                wrong.append(
                    f"{show(message)!r}: msgstr{form} has {sorted(got)}, msgid has {sorted(expected)}"
                )
    assert not wrong, "Placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_french_translations_keep_surrounding_whitespace(french_messages):
    wrong = []
    for message in french_messages:
        source = ids(message)[0]
        lead = source[: len(source) - len(source.lstrip())]
        trail = source[len(source.rstrip()) :]
        for string in strings(message):
            string = string or ""
            if not (string.startswith(lead) and string.endswith(trail)):
                wrong.append(repr(source))
    assert not wrong, "Leading/trailing whitespace differs from the msgid:\n" + "\n".join(wrong)


def test_french_typography_is_consistent(french_messages):
    """A non-breaking space before « : ; ! ? » and inside « », and the straight apostrophe."""
    wrong = []
    for message in french_messages:
        for string in strings(message):
            if re.search(r"[ \t][:;!?»]|« ", string):
                wrong.append(f"{string!r}: use a non-breaking space (U+00A0) before : ; ! ? » and after «")
            if "\u2019" in string:
                wrong.append(f"{string!r}: use the straight apostrophe '")
    assert not wrong, "\n".join(wrong)


def test_french_catalog_is_in_step_with_the_sources(tmp_path, french_catalog):
    """Every string of the templates and the code is in fr/messages.po."""
    pot = tmp_path / "messages.pot"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            "--omit-header",
            "--sort-output",
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    with pot.open("rb") as f:
        extracted = [message for message in read_po(f) if message.id]
    assert extracted, "nothing was extracted from the sources"

    missing = []
    for message in extracted:
        found = french_catalog.get(message.id)
        if found is None or found.pluralizable != message.pluralizable or (
            message.pluralizable and tuple(found.id) != tuple(message.id)
        ):
            missing.append(show(message))
    assert not missing, (
        f"{len(missing)} source string(s) missing from fr/messages.po; run the pybabel extract and update "
        "commands, then translate:\n" + "\n".join(missing)
    )
