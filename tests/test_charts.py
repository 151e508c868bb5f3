"""The server-drawn SVG charts (extranet/charts.py): well-formed, accessible
(role="img", title, description, the same figures as a table), nothing a
label holds runs as markup, no script."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from extranet.charts import Chart, Series, render, svg, table

from .helpers import parse

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>alert("x")</script> & “Ménages”'


def chart(kind="bar", labels=("2023", "2024")):
    return Chart(
        id="c1", title=f"Objectifs {NASTY}", description="Cibles et valeurs atteintes, additionnées",
        labels=list(labels),
        series=[Series("Cibles", [Decimal("150"), Decimal("200.5")][: len(labels)]), Series(NASTY, [Decimal("12.25"), None][: len(labels)])],
        extra=[Series("Territoires", [3, 2][: len(labels)])],
        kind=kind, label_header="Année", empty_text="Rien à montrer",
    )


@pytest.mark.parametrize("kind", ["bar", "line"])
def test_chart_is_well_formed_accessible_svg_with_escaped_text(kind):
    drawn = str(svg(chart(kind), number=str))
    root = ET.fromstring(drawn)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.get("id") == "c1-title" and title.text == f"Objectifs {NASTY}"
    assert desc.get("id") == "c1-desc" and desc.text == "Cibles et valeurs atteintes, additionnées"
    assert "<script" not in drawn and "&lt;script&gt;" in drawn
    assert not any(el.tag.endswith("script") or el.tag.endswith("foreignObject") for el in root.iter())
    # Every figure has its tooltip; the missing one is not drawn.
    tips = [el.text for el in root.iter(f"{SVG}title")][1:]
    assert "Cibles — 2024: 200.5" in tips and f"{NASTY} — 2023: 12.25" in tips
    assert not any(t.startswith(f"{NASTY} — 2024") for t in tips)
    marks = list(root.iter(f"{SVG}rect" if kind == "bar" else f"{SVG}circle"))
    assert len([m for m in marks if m.find(f"{SVG}title") is not None]) == 3
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert "2023" in texts and "2024" in texts and NASTY in texts  # axis labels and the legend


def test_chart_has_the_same_figures_as_a_table_beside_it():
    html = str(render(chart(), number=str))
    root = parse(html)
    assert "<script" not in html
    figure = next(n for n in root.iter() if n.tag == "figure")
    assert figure.attrs["id"] == "c1"
    caption = next(n for n in root.iter() if n.tag == "caption")
    assert caption.text() == f"Objectifs {NASTY}"
    headers = [n.text() for n in root.iter() if n.tag == "th" and n.attrs.get("scope") == "col"]
    assert headers == ["Année", "Cibles", NASTY, "Territoires"]
    rows = [[c.text() for c in tr.iter() if c.tag in ("th", "td")] for tr in root.iter() if tr.tag == "tr"][1:]
    assert rows == [["2023", "150", "12.25", "3"], ["2024", "200.5", "—", "2"]]


def test_chart_without_figures_says_so():
    empty = Chart(title="t", description="d", labels=[], series=[Series("a", [])], empty_text="Aucune valeur < 1")
    assert str(render(empty)) == '<p class="fr-text--sm">Aucune valeur &lt; 1</p>'
    nothing = Chart(title="t", description="d", labels=["2023"], series=[Series("a", [None])], empty_text="Rien")
    assert "Rien" in str(render(nothing)) and "<svg" not in str(render(nothing))


def test_many_labels_slant_and_scale_covers_the_largest_figure():
    labels = [f"T{q} {y}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)]
    line = Chart(title="t", description="d", labels=labels, series=[Series("Cumul", [Decimal(n * 37) for n in range(12)])], kind="line")
    root = ET.fromstring(str(svg(line, number=str)))
    assert any("rotate" in (el.get("transform") or "") for el in root.iter(f"{SVG}text"))
    ticks = [Decimal(el.text) for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "end" and not el.get("transform")]
    assert max(ticks) >= 11 * 37 and min(ticks) == 0
    assert len(list(root.iter(f"{SVG}polyline"))) == 1


def test_table_escapes_labels():
    html = str(table(Chart(title="<b>t</b>", description="d", labels=["<i>x</i>"], series=[Series("<u>s</u>", [1])]), number=str))
    assert "<b>" not in html and "<i>" not in html and "<u>" not in html and "&lt;i&gt;x&lt;/i&gt;" in html


def test_chart_text_stays_readable_on_a_phone():
    """Drawn about as wide as a phone, so its text is not scaled down to a few pixels there."""
    root = ET.fromstring(str(svg(chart())))
    width = float(root.get("viewBox").split()[2])
    assert width <= 420 and float(root.get("font-size")) >= 12
    # The table beside it is named by a caption the stylesheet keeps small, in a figure without side margins.
    html = parse(str(render(chart())))
    figure = next(n for n in html.iter() if n.tag == "figure")
    assert "chart-figure" in figure.classes and any(n.tag == "caption" for n in figure.iter())
