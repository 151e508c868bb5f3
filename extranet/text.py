"""Comparing what people type with names."""

import unicodedata


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form, so "reunion" finds
    "La Réunion", "helene" finds "Hélène", and "pas de calais" or "d’Azur"
    (typographic apostrophe) find "Pas-de-Calais" and "d'Azur"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in letters).split())
