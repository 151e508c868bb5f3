"""Form helpers shared by every area."""

import unicodedata


def strip(value):
    return value.strip() if isinstance(value, str) else value


def single_line(value):
    """Without control characters nor surrounding spaces."""
    if not isinstance(value, str):
        return value
    return "".join(c for c in value if unicodedata.category(c) != "Cc").strip()
