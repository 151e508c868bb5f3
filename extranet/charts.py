"""Small charts drawn on the server as SVG: no script, no CDN, nothing for
the Content-Security-Policy to allow (colours are SVG attributes, not styles).

A chart is accessible on its own terms: the ``<svg>`` is ``role="img"`` named
by its ``<title>`` and described by its ``<desc>``, each bar or point carries
its figure in a ``<title>`` (a tooltip), and the same figures follow as a
table, which is what screen readers, keyboard users and anyone copying the
numbers read. Every text is escaped: a label typed by someone cannot become
markup.

    chart = Chart(title=..., description=..., labels=["2023", "2024"],
                  series=[Series("Targets", [150, 200]), Series("Reached", [40, None])])
    render(chart)  # Markup: <figure> with the SVG and the table
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal

from markupsafe import Markup, escape

# Drawn for a phone: about 360 user units wide, so 13-unit text stays about 12 px on a
# 390 px screen; the stylesheet caps the drawing's width (svg.chart) so it does not grow
# huge on a wide screen either.
WIDTH, HEIGHT = 400, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 10, 36, 56
FONT_SIZE = 13
SLANT_OVER = 5  # more labels than this under the plot are slanted, or they overlap
# DSFR colours with a contrast of at least 3:1 on white, told apart by shape too (bars, solid and dashed lines).
PALETTE = ("#000091", "#CE614A", "#18753C", "#6E445A")
DASHES = (None, "6 4", "2 3", "8 3 2 3")


@dataclass
class Series:
    name: str
    values: list  # numbers (int, Decimal, float) or None where there is no figure


@dataclass
class Chart:
    title: str
    description: str
    labels: list[str]
    series: list[Series]
    kind: str = "bar"  # "bar" (grouped bars) or "line"
    label_header: str = ""  # the first column of the table
    extra: list[Series] = field(default_factory=list)  # more columns of the table, not drawn
    id: str = "chart"
    empty_text: str = ""


def number_formatter(locale=None):
    """A function formatting figures as the reader's language writes them
    ("1 234,5" in French), up to three decimals, trailing zeros dropped: what
    ``format_decimal`` gives, at a fraction of its cost, for pages that show
    hundreds of figures. ``None`` gives a dash."""
    from babel import Locale
    from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

    if locale is None:
        try:
            from flask_babel import get_locale

            locale = get_locale()
        except Exception:  # outside a request
            locale = None
    locale = Locale.parse(locale or "fr")
    point, group, minus = get_decimal_symbol(locale), get_group_symbol(locale), get_minus_sign_symbol(locale)

    def number(value) -> str:
        if value is None:
            return "—"
        figure = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
        figure = figure.quantize(Decimal("0.001"))
        whole, _dot, fraction = format(abs(figure), "f").partition(".")
        fraction = fraction.rstrip("0")
        digits = []
        while len(whole) > 3:
            whole, digits = whole[:-3], [whole[-3:], *digits]
        text = group.join([whole, *digits]) + (point + fraction if fraction else "")
        return (minus if figure < 0 else "") + text

    return number


def _default_number(value) -> str:
    return number_formatter()(value)


def _nice_step(span: float) -> float:
    """A round step giving about four intervals over ``span``: 1, 2, 2.5 or 5 times a power of ten."""
    raw = span / 4 or 1
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _scale(chart: Chart) -> tuple[float, float, float]:
    figures = [float(v) for s in chart.series for v in s.values if v is not None]
    low, high = min(figures + [0.0]), max(figures + [0.0])
    step = _nice_step(high - low or 1)
    return math.floor(low / step) * step, (math.ceil(high / step) * step) or step, step


def _attrs(**values) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(value)}"' for name, value in values.items() if value is not None
    )


def _text(x, y, content, **attrs) -> str:
    return f'<text{_attrs(x=f"{x:.1f}", y=f"{y:.1f}", **attrs)}>{escape(content)}</text>'


def svg(chart: Chart, number=_default_number) -> Markup:
    """The chart alone, as an ``<svg>`` element (well-formed XML)."""
    low, high, step = _scale(chart)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(chart.labels), 1)
    slot = plot_w / count

    def y_of(value) -> float:
        return TOP + plot_h - (float(value) - low) / (high - low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg"{_attrs(viewBox=f"0 0 {WIDTH} {HEIGHT}", width="100%", role="img", aria_labelledby=f"{chart.id}-title {chart.id}-desc", font_family="Marianne, arial, sans-serif", font_size=str(FONT_SIZE), class_="chart")}>',
        f'<title id="{escape(chart.id)}-title">{escape(chart.title)}</title>',
        f'<desc id="{escape(chart.id)}-desc">{escape(chart.description)}</desc>',
    ]
    # Horizontal grid and the figures of the vertical axis.
    ticks = int(round((high - low) / step))
    for n in range(ticks + 1):
        value = low + n * step
        y = y_of(value)
        parts.append(f'<line{_attrs(x1=LEFT, x2=WIDTH - RIGHT, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke="#DDDDDD" if value else "#666666")}/>')
        shown = Decimal(repr(round(value, 6)))
        if shown == shown.to_integral_value():
            shown = shown.quantize(Decimal(1))
        parts.append(_text(LEFT - 8, y + 4, number(shown), text_anchor="end", fill="#3A3A3A"))
    # Labels under the slots, slanted when there are many.
    slant = count > SLANT_OVER
    for i, label in enumerate(chart.labels):
        x = LEFT + slot * (i + 0.5)
        y = TOP + plot_h + 18
        if slant:
            parts.append(_text(x, y, label, text_anchor="end", fill="#3A3A3A", transform=f"rotate(-35 {x:.1f} {y:.1f})"))
        else:
            parts.append(_text(x, y, label, text_anchor="middle", fill="#3A3A3A"))
    # The figures.
    drawn = chart.series
    if chart.kind == "bar":
        width = slot * 0.7 / max(len(drawn), 1)
        for s_index, series in enumerate(drawn):
            colour = PALETTE[s_index % len(PALETTE)]
            for i, value in enumerate(series.values):
                if value is None:
                    continue
                x = LEFT + slot * i + slot * 0.15 + width * s_index
                top, base = y_of(max(float(value), 0)), y_of(min(float(value), 0))
                parts.append(
                    f'<rect{_attrs(x=f"{x:.1f}", y=f"{top:.1f}", width=f"{width:.1f}", height=f"{max(base - top, 0.5):.1f}", fill=colour)}>'
                    f'<title>{escape(series.name)} — {escape(chart.labels[i])}: {escape(number(value))}</title></rect>'
                )
    else:
        for s_index, series in enumerate(drawn):
            colour, dash = PALETTE[s_index % len(PALETTE)], DASHES[s_index % len(DASHES)]
            points = [(LEFT + slot * (i + 0.5), y_of(v), v, i) for i, v in enumerate(series.values) if v is not None]
            if len(points) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _v, _i in points)
                parts.append(f'<polyline{_attrs(points=path, fill="none", stroke=colour, stroke_width="2.5", stroke_dasharray=dash)}/>')
            for x, y, value, i in points:
                parts.append(
                    f'<circle{_attrs(cx=f"{x:.1f}", cy=f"{y:.1f}", r="4", fill=colour)}>'
                    f'<title>{escape(series.name)} — {escape(chart.labels[i])}: {escape(number(value))}</title></circle>'
                )
    # The legend, above the plot.
    x = LEFT
    for s_index, series in enumerate(drawn):
        colour = PALETTE[s_index % len(PALETTE)]
        if chart.kind == "bar":
            parts.append(f'<rect{_attrs(x=x, y=12, width=14, height=14, fill=colour)}/>')
        else:
            parts.append(f'<line{_attrs(x1=x, x2=x + 24, y1=19, y2=19, stroke=colour, stroke_width="2.5", stroke_dasharray=DASHES[s_index % len(DASHES)])}/>')
        parts.append(_text(x + 30, 24, series.name, fill="#161616"))
        x += 30 + 8 * len(series.name) + 20
    parts.append("</svg>")
    return Markup("".join(parts))


def table(chart: Chart, number=_default_number) -> Markup:
    """The chart's figures as a DSFR table: one row per label."""
    columns = chart.series + chart.extra
    head = "".join(f'<th scope="col">{escape(c.name)}</th>' for c in [Series(chart.label_header, [])] + columns)
    rows = []
    for i, label in enumerate(chart.labels):
        cells = "".join(
            f"<td>{escape(number(c.values[i])) if i < len(c.values) and c.values[i] is not None else '—'}</td>" for c in columns
        )
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')
    return Markup(
        '<div class="fr-table fr-table--sm fr-mb-0"><div class="fr-table__wrapper"><div class="fr-table__container">'
        '<div class="fr-table__content"><table>'
        f"<caption>{escape(chart.title)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></div></div></div></div>"
    )


def render(chart: Chart, number=_default_number) -> Markup:
    """The chart and, beside it, its table; ``empty_text`` when there is no figure."""
    if not chart.labels or not any(v is not None for s in chart.series for v in s.values):
        return Markup(f'<p class="fr-text--sm">{escape(chart.empty_text)}</p>')
    return Markup(
        f'<figure class="fr-my-3w chart-figure" id="{escape(chart.id)}">'
        f'<div class="fr-grid-row fr-grid-row--gutters"><div class="fr-col-12 fr-col-lg-6">{svg(chart, number)}</div>'
        f'<div class="fr-col-12 fr-col-lg-6">{table(chart, number)}</div></div></figure>'
    )
