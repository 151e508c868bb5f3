"""Form helpers shared by every area."""

import re
import unicodedata
from decimal import Decimal


def strip(value):
    return value.strip() if isinstance(value, str) else value


def single_line(value):
    """Without control characters nor surrounding spaces."""
    if not isinstance(value, str):
        return value
    return "".join(c for c in value if unicodedata.category(c) != "Cc").strip()


# --- Numbers and money as people type them ----------------------------------------------------
#
# French first: "12 500,50", "12500.5", "60 000 €" (spaces, non-breaking ones
# included, are thousands separators; a comma or a dot the decimal mark). At
# most two decimals, which also keeps an English "60,000" from being read as
# 60: it is refused, not misread.

NUMBER_MAX = Decimal(10) ** 12
_NUMBER = re.compile(r"\d+(?:\.\d{1,2})?")


class NumberError(ValueError):
    """Why a typed number was refused: ``reason`` is "format", "negative" or "too_large"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_number(text, maximum: Decimal = NUMBER_MAX) -> Decimal | None:
    """The number typed, as a Decimal with at most two decimals; None when
    nothing was typed. Raises NumberError when it is not a number, negative,
    or not below ``maximum``."""
    if text is None:
        return None
    cleaned = "".join(c for c in str(text) if not c.isspace() and c not in "\u202f\u00a0'")
    cleaned = cleaned.removesuffix("€").removesuffix("EUR").removesuffix("eur")
    if not cleaned:
        return None
    negative = cleaned.startswith(("-", "−"))
    cleaned = cleaned.lstrip("+-−").replace(",", ".")
    if not _NUMBER.fullmatch(cleaned):
        raise NumberError("format")
    value = Decimal(cleaned)
    if negative and value:
        raise NumberError("negative")
    if value >= maximum:
        raise NumberError("too_large")
    return value


def euros_to_cents(text) -> int | None:
    """An amount in euros as typed (see :func:`parse_number`), in cents."""
    value = parse_number(text)
    return None if value is None else int(value * 100)
