"""The national team's network view (issue 6, point 4) and the national list
of indicators: who may open them, sums across territories exact to the cent,
which roadmaps count, the late-reporting rule with a fixed date, the XLSX read
back, the list's add/edit/take off, and a bounded number of SQL statements
whatever the number of territories."""

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import delete, select

from extranet.extensions import db
from extranet.roadmaps import network
from extranet.roadmaps.models import (
    Aggregation,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    RoadmapIndicator,
)

from .helpers import database, errors_beside, french, parse, queries_for

pytest_plugins = ["tests.roadmap_fixtures"]

SHARED = "Ménages accédant au logement depuis la rue"
TERRITORIES = ("lyon", "nantes", "grenoble-alpes", "lille", "metz", "amiens", "arras", "toulouse")
URLS = ("/roadmaps/network", "/roadmaps/network.xlsx", "/roadmaps/indicators/new")


def shared_row(roadmap_id, name=SHARED) -> RoadmapIndicator:
    return db.session.scalar(
        select(RoadmapIndicator).join(Indicator).where(RoadmapIndicator.roadmap_id == roadmap_id, Indicator.name == name)
    )


def add_value(app, roadmap, value, start=date(2023, 4, 1), end=date(2023, 6, 30), label="T2 2023", name=SHARED):
    with database(app) as session:
        session.add(IndicatorValue(roadmap_indicator=shared_row(roadmap.id, name), period_label=label,
                                   period_start=start, period_end=end, value=Decimal(value)))
        session.commit()


def drop_values(app, roadmap):
    with database(app) as session:
        session.execute(delete(IndicatorValue).where(IndicatorValue.roadmap_indicator_id == shared_row(roadmap.id).id))
        session.commit()


def shared_indicator_id(app) -> int:
    with database(app) as session:
        return session.scalar(select(Indicator.id).filter_by(name=SHARED))


def table_rows(html, table_id=None) -> list[list[str]]:
    root = parse(html)
    if table_id is not None:
        root = next(n for n in root.iter() if n.attrs.get("id") == table_id)
    return [[c.text() for c in tr.iter() if c.tag in ("th", "td")] for tr in root.iter() if tr.tag == "tr"]


def summary(html) -> dict[str, list[str]]:
    """The summary table: indicator name -> its cells (target, reached per year)."""
    rows = table_rows(html, "summary")
    return {row[0].split("(")[0].strip(): row[1:] for row in rows[2:]}


# --- Who may open what ------------------------------------------------------------


@pytest.mark.parametrize("role,expected", [("coordinator", 403), ("member", 403), ("animator", 200), ("admin", 200)])
def test_network_pages_are_for_the_national_team(client, logged_in, make_roadmap, role, expected):
    make_roadmap("lyon", status="validated")
    logged_in(role)
    assert {url: client.get(url).status_code for url in URLS} == dict.fromkeys(URLS, expected)
    assert client.post("/roadmaps/indicators/new", data={"name": "Nouveau"}).status_code == (302 if expected == 200 else 403)


@pytest.mark.parametrize("role", ["coordinator", "member", "animator", "admin"])
def test_everyone_reads_the_national_list_only_the_national_team_manages_it(client, logged_in, make_roadmap, role):
    make_roadmap("lyon", status="validated")
    logged_in(role)
    response = client.get("/roadmaps/indicators")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert SHARED in html and "1 feuille de route" in html
    assert ("/roadmaps/indicators/new" in html) == (role in ("animator", "admin"))
    assert client.get(f"/roadmaps/indicators/{shared_indicator_id(client.application)}/edit").status_code == (
        200 if role in ("animator", "admin") else 403
    )
    assert client.post(f"/roadmaps/indicators/{shared_indicator_id(client.application)}/remove").status_code == (
        302 if role in ("animator", "admin") else 403
    )


def test_unknown_or_huge_ids_are_404(client, logged_in):
    logged_in("admin")
    assert client.get("/roadmaps/network?indicator=999999").status_code == 404
    assert client.get("/roadmaps/network?indicator=99999999999999").status_code == 200  # out of range: ignored
    assert client.get("/roadmaps/network?indicator=abc&year=zz&wave=9&roadmaps=nope").status_code == 200
    assert client.get("/roadmaps/indicators/999999/edit").status_code == 404
    assert client.get(f"/roadmaps/indicators/{2**31}/edit").status_code == 404
    assert client.post(f"/roadmaps/indicators/{2**40}/remove").status_code == 404


# --- Sums across territories ---------------------------------------------------------


def test_sums_across_three_territories_are_exact(app, client, logged_in, make_roadmap):
    roadmaps = [make_roadmap(slug, status="validated") for slug in ("lyon", "nantes", "grenoble-alpes")]
    for roadmap, value in zip(roadmaps, ("12.5", "7.25", "0.1")):
        add_value(app, roadmap, value)
    with app.test_request_context(), database(app):
        indicator_id = shared_indicator_id(app)
        totals = network.yearly_totals(network.Scope(), [indicator_id])[indicator_id]
        assert totals[2023].target == Decimal(450) and totals[2024].target == Decimal(600)
        assert totals[2023].reached == Decimal("139.85") and totals[2023].reached_territories == 3
        periods = network.period_totals(network.Scope(), indicator_id)
        assert [(p.label, p.total, p.territories, p.cumulative) for p in periods] == [
            ("T1 2023", Decimal(120), 3, Decimal(120)),
            ("T2 2023", Decimal("19.85"), 3, Decimal("139.85")),
        ]

    logged_in("animator")
    html = client.get("/roadmaps/network").get_data(as_text=True)
    assert summary(html)[SHARED] == ["450", "139,85", "600", "—"]
    # The table beside the chart of the periods, and the territories in 2023.
    assert ["T2 2023", "139,85", "19,85", "3"] in table_rows(html, "chart-periods")
    detail = [row for row in table_rows(html, "territory-table") if len(row) == 5]
    assert [row[0] for row in detail[1:]] == ["Grenoble-Alpes Métropole", "Métropole de Lyon", "Nantes Métropole"]
    assert detail[2][2:] == ["200", "0", "T2 2023"]  # the latest year with figures, 2024, comes first
    html_2023 = client.get(f"/roadmaps/network?indicator={indicator_id}&year=2023").get_data(as_text=True)
    detail = [row for row in table_rows(html_2023, "territory-table") if len(row) == 5]
    assert detail[2][2:] == ["150", "52,5", "T2 2023"]
    links = [n.attrs["href"] for n in parse(html).iter() if n.tag == "a" and n.attrs.get("href", "").startswith("/roadmaps/") and n.attrs["href"].rstrip("/").split("/")[-1].isdigit()]
    assert {f"/roadmaps/{r.id}" for r in roadmaps} <= set(links)
    # The SVG charts, well-formed, beside their tables.
    assert html.count('role="img"') == 2 and "<script>" not in html.split("</main>")[0].split("<main")[-1]


def test_drafts_are_left_out_unless_asked_and_waves_filter(app, client, logged_in, make_roadmap):
    make_roadmap("lyon", status="validated")  # wave 1
    make_roadmap("rennes", status="validated")  # wave 2
    make_roadmap("nantes", status="draft")
    make_roadmap("dijon", status="submitted")
    logged_in("admin")
    assert summary(client.get("/roadmaps/network").get_data(as_text=True))[SHARED][:2] == ["300", "80"]
    assert summary(client.get("/roadmaps/network?roadmaps=submitted").get_data(as_text=True))[SHARED][:2] == ["450", "120"]
    html = client.get("/roadmaps/network?roadmaps=all").get_data(as_text=True)
    assert summary(html)[SHARED][:2] == ["600", "160"]
    draft_row = next(row for row in table_rows(html, "territory-table") if len(row) == 5 and "Nantes" in row[0])
    assert french(app, "Draft") in draft_row[1]
    assert summary(client.get("/roadmaps/network?wave=2").get_data(as_text=True))[SHARED][:2] == ["150", "40"]
    assert summary(client.get("/roadmaps/network?wave=2&roadmaps=all").get_data(as_text=True))[SHARED][:2] == ["300", "80"]


def test_a_chosen_indicator_and_year(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap("lyon", status="validated")
    with database(app) as session:
        other = Indicator(name="Logements captés <b>", unit="logements", position=5)
        session.add(other)
        session.flush()
        session.add(RoadmapIndicator(roadmap_id=roadmap.id, indicator_id=other.id, name=other.name, unit=other.unit,
                                     targets=[IndicatorTarget(year=2024, value=Decimal("33.3"))]))
        session.commit()
        other_id = other.id
    logged_in("admin")
    html = client.get(f"/roadmaps/network?indicator={other_id}").get_data(as_text=True)
    assert "<b>" not in html and "Logements captés &lt;b&gt;" in html
    lyon = next(row for row in table_rows(html, "territory-table") if len(row) == 5 and "Lyon" in row[0])
    assert lyon[2:4] == ["33,3", "0"] and french(app, "Nothing reported yet") == lyon[4]
    html = client.get(f"/roadmaps/network?indicator={shared_indicator_id(app)}&year=2024").get_data(as_text=True)
    lyon = next(row for row in table_rows(html, "territory-table") if len(row) == 5 and "Lyon" in row[0])
    assert lyon[2:] == ["200", "0", "T1 2023"]


# --- Rates and stocks: not added up over the quarters ----------------------------------

RATE, STOCK = "Taux de sortie vers le logement", "Places en pension de famille"
QUARTERS = [(f"T{q} 2023", date(2023, 3 * q - 2, 1), end) for q, end in
            enumerate((date(2023, 3, 31), date(2023, 6, 30), date(2023, 9, 30), date(2023, 12, 31)), start=1)]


def rate_and_stock(app, make_roadmap):
    """Lyon and Nantes share a rate (30 and 25 every quarter, targets 40 and 30)
    and a stock (Lyon 10, 12, 15, 14; Nantes 5, 6, 7 and nothing for T4; targets 20 and 10)."""
    lyon, nantes = make_roadmap("lyon", status="validated"), make_roadmap("nantes", status="validated")
    with database(app) as session:
        rate = Indicator(name=RATE, unit="%", aggregation=Aggregation.RATE, position=1)
        stock = Indicator(name=STOCK, unit="places", aggregation=Aggregation.STOCK, position=2)
        session.add_all([rate, stock])
        for roadmap, rates, stocks, targets in ((lyon, [30] * 4, [10, 12, 15, 14], (40, 20)),
                                                (nantes, [25] * 4, [5, 6, 7], (30, 10))):
            for indicator, figures, target in ((rate, rates, targets[0]), (stock, stocks, targets[1])):
                session.add(RoadmapIndicator(
                    roadmap_id=roadmap.id, indicator=indicator, name=indicator.name, unit=indicator.unit,
                    targets=[IndicatorTarget(year=2023, value=Decimal(target))],
                    values=[IndicatorValue(period_label=label, period_start=start, period_end=end, value=Decimal(v))
                            for (label, start, end), v in zip(QUARTERS, figures)]))
        session.commit()
        return rate.id, stock.id


def test_a_rate_is_averaged_and_a_stock_counts_its_latest_value(app, client, logged_in, make_roadmap):
    rate_id, stock_id = rate_and_stock(app, make_roadmap)
    with app.test_request_context(), database(app):
        totals = network.yearly_totals(network.Scope(), [rate_id, stock_id])
        rate, stock = totals[rate_id][2023], totals[stock_id][2023]
        assert (rate.target, rate.reached, rate.reached_territories) == (Decimal(35), Decimal("27.5"), 2)
        assert (stock.target, stock.reached, stock.reached_territories) == (Decimal(30), Decimal(21), 2)
        periods = network.period_totals(network.Scope(), rate_id, Aggregation.RATE)
        assert [(p.label, p.total, p.cumulative) for p in periods] == [(f"T{q} 2023", Decimal("27.5"), Decimal("27.5")) for q in range(1, 5)]
        # A stock per quarter: the quarter's places, and the year's latest total to date (Nantes's T3 stands in T4).
        periods = network.period_totals(network.Scope(), stock_id, Aggregation.STOCK)
        assert [(p.total, p.territories, p.cumulative) for p in periods] == [
            (Decimal(15), 2, Decimal(15)), (Decimal(18), 2, Decimal(18)), (Decimal(22), 2, Decimal(22)), (Decimal(14), 1, Decimal(21))]
        rows = network.territory_rows(network.Scope(), stock_id, 2023, Aggregation.STOCK)
        assert [(r.territory, r.target, r.reached, r.last_period) for r in rows] == [
            ("Métropole de Lyon", Decimal(20), Decimal(14), "T4 2023"), ("Nantes Métropole", Decimal(10), Decimal(7), "T3 2023")]
        rows = network.territory_rows(network.Scope(), rate_id, 2023, Aggregation.RATE)
        assert [r.reached for r in rows] == [Decimal(30), Decimal(25)]
        # The flow of the fixture is unchanged: the quarters and the territories add up.
        flow = network.yearly_totals(network.Scope(), [shared_indicator_id(app)])[shared_indicator_id(app)][2023]
        assert (flow.target, flow.reached) == (Decimal(300), Decimal(80))

    logged_in("animator")
    html = client.get("/roadmaps/network").get_data(as_text=True)
    assert summary(html)[RATE][:2] == ["35", "27,5"] and summary(html)[STOCK][:2] == ["30", "21"]
    assert french(app, "Rate: the latest value counts, averaged across territories (e.g. a percentage)") in html
    html = client.get(f"/roadmaps/network?indicator={stock_id}&year=2023").get_data(as_text=True)
    said = next(n for n in parse(html).iter() if n.attrs.get("id") == "aggregation")
    assert french(app, "Stock: the latest value counts (e.g. places open)").replace("\xa0", " ") in said.text().replace("\xa0", " ")
    assert ["T4 2023", "21", "14", "1"] in table_rows(html, "chart-periods")
    assert french(app, "Latest total to date") in html and french(app, "Cumulative total") not in html
    assert french(app, "Latest value of the year") in table_rows(html, "territory-table")[0]
    nantes = next(row for row in table_rows(html, "territory-table") if len(row) == 5 and "Nantes" in row[0])
    assert nantes[2:] == ["10", "7", "T3 2023"]
    html = client.get(f"/roadmaps/network?indicator={rate_id}&year=2023").get_data(as_text=True)
    assert ["T4 2023", "27,5", "27,5", "2"] in table_rows(html, "chart-periods")
    assert ["2023", "35", "27,5", "2", "2"] in table_rows(html, "chart-years")

    book = openpyxl.load_workbook(io.BytesIO(client.get("/roadmaps/network.xlsx").data))
    by_name = {row[0]: row for row in book["Synthèse"].iter_rows(values_only=True)}
    assert by_name[RATE][3:5] == (35, 27.5) and by_name[STOCK][3:5] == (30, 21)
    assert by_name[STOCK][2] == french(app, "Stock: the latest value counts (e.g. places open)")
    rate_sheet = [list(r) for r in book.worksheets[2].iter_rows(values_only=True)]  # after the fixture's flow
    assert rate_sheet[0][3:] == ["Cible 2023", "T1 2023", "T2 2023", "T3 2023", "T4 2023"]
    assert rate_sheet[-1] == ["Moyenne", None, None, 35, 27.5, 27.5, 27.5, 27.5]
    stock_sheet = [list(r) for r in book.worksheets[3].iter_rows(values_only=True)]
    assert stock_sheet[-1] == ["Total", None, None, 30, 15, 18, 22, 14]


# --- Late reporting ---------------------------------------------------------------------


def late(app, today, grace=30, **kwargs):
    with app.test_request_context(), database(app):
        due, found = network.late_territories(today=today, grace=grace, **kwargs)
        return due, [(e.territory, e.missing, e.last_period, e.days_late) for e in found]


def test_late_reporting_rule(app, make_roadmap):
    lyon = make_roadmap("lyon", status="validated")  # reported T1 2023
    nantes = make_roadmap("nantes", status="validated")
    drop_values(app, nantes)  # reported nothing
    make_roadmap("rennes", status="draft")  # not validated: not asked yet
    returned = make_roadmap("dijon", status="returned")
    drop_values(app, returned)

    # On time: T1 2023 ended 45 days ago, Lyon reported it; Nantes did not.
    due, found = late(app, date(2023, 5, 15))
    assert (due.label, due.end) == ("T1 2023", date(2023, 3, 31))
    assert found == [("Nantes Métropole", [SHARED], None, 15)]
    # Within the grace days, the quarter due is the one before: 2022, outside the roadmaps' period.
    due, found = late(app, date(2023, 4, 20))
    assert due.label == "T4 2022" and found == []
    # A longer grace, from the configuration.
    app.config["ROADMAP_REPORTING_GRACE_DAYS"] = 60
    with app.test_request_context():
        assert network.grace_days() == 60
    assert late(app, date(2023, 5, 15), grace=60)[1] == []
    # Later: both owe T2 2023; Nantes owes since T1, so it is the later one.
    due, found = late(app, date(2023, 8, 15))
    assert due.label == "T2 2023"
    assert found == [("Nantes Métropole", [SHARED], None, 107), ("Métropole de Lyon", [SHARED], "T1 2023", 16)]
    # A value for a month of the quarter counts.
    add_value(app, lyon, "3", start=date(2023, 6, 1), end=date(2023, 6, 30), label="Juin 2023")
    assert late(app, date(2023, 8, 15))[1] == [("Nantes Métropole", [SHARED], None, 107)]
    # The roadmaps' period (2023–2024) does not cover T1 2025.
    assert late(app, date(2025, 5, 15))[1] == []
    # An indicator taken off the national list is not asked for any more.
    with database(app) as session:
        session.scalar(select(Indicator).filter_by(name=SHARED)).is_shared = False
        session.commit()
    assert late(app, date(2023, 8, 15))[1] == []


def test_the_network_page_lists_late_territories(app, client, logged_in, make_roadmap):
    with app.test_request_context():
        due = network.quarter_due(network.today_in_paris(), network.grace_days())
    make_roadmap("lyon", status="validated", start_year=due.year, end_year=due.year + 1)
    make_roadmap("nantes", status="validated")  # 2023–2024: not asked
    logged_in("animator")
    html = client.get("/roadmaps/network").get_data(as_text=True)
    rows = table_rows(html, "late-table")
    assert len(rows) == 2 and "Lyon" in rows[1][0] and rows[1][1] == SHARED
    assert int(rows[1][3]) > 0
    assert due.label in html


# --- The XLSX export -----------------------------------------------------------------------


def test_network_xlsx_read_back(app, client, logged_in, make_roadmap):
    lyon = make_roadmap("lyon", status="validated")
    nantes = make_roadmap("nantes", status="validated")
    make_roadmap("rennes", status="draft")
    add_value(app, lyon, "12.5")
    add_value(app, nantes, "7.25")
    add_value(app, nantes, "1", start=date(2023, 1, 1), end=date(2023, 12, 31), label="=1+1")
    with database(app) as session:
        nasty = Indicator(name='=HYPERLINK("http://evil.example","clic")', unit="@SUM(A1)", position=9)
        session.add(nasty)
        session.flush()
        session.add(RoadmapIndicator(roadmap_id=lyon.id, indicator_id=nasty.id, name=nasty.name,
                                     targets=[IndicatorTarget(year=2023, value=Decimal("1.5"))]))
        session.commit()
    logged_in("admin")
    response = client.get("/roadmaps/network.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[0] == "Synthèse" and len(book.sheetnames) == 3
    sheet = book["Synthèse"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    flow = french(app, "Flow: the periods add up (e.g. households housed)")
    assert rows[0] == ["Indicateur", "Unité", "Mode de calcul", "Cible 2023", "Atteint 2023", "Cible 2024", "Atteint 2024"]
    assert rows[1] == [SHARED, "ménages", flow, 300, 100.75, 400, None]
    assert rows[2][:5] == ['=HYPERLINK("http://evil.example","clic")', "@SUM(A1)", flow, 1.5, None]
    # Text is text: no cell of the file is a formula.
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    detail = [list(r) for r in book.worksheets[1].iter_rows(values_only=True)]
    assert book.worksheets[1].title == SHARED[:31]
    assert detail[0] == ["Territoire", "Période de la feuille de route", "Statut", "Cible 2023", "Cible 2024",
                         "T1 2023", "T2 2023", "=1+1"]
    assert detail[1] == ["Métropole de Lyon", "2023–2024", "Validée", 150, 200, 40, 12.5, None]
    by_name = {row[0]: row for row in detail[1:]}
    nantes_row = next(row for name, row in by_name.items() if "Nantes" in name)
    assert nantes_row[5:] == [40, 7.25, 1]
    assert by_name["Total"][3:] == [300, 400, 80, 19.75, 1]
    assert len(detail) == 4  # Lyon, Nantes, the total: the draft is left out
    # With the drafts.
    book = openpyxl.load_workbook(io.BytesIO(client.get("/roadmaps/network.xlsx?roadmaps=all").data))
    assert list(book["Synthèse"].iter_rows(values_only=True))[1][3] == 450


# --- The national list -------------------------------------------------------------------------


def test_national_list_add_edit_duplicate_take_off_and_back(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap("lyon", status="validated")
    logged_in("animator")
    response = client.post("/roadmaps/indicators/new", data={"name": "  Personnes relogées ", "unit": "personnes",
                                                            "description": "Sorties vers le logement", "position": "3"})
    assert response.status_code == 302 and response.location.endswith("/roadmaps/indicators")
    html = client.get("/roadmaps/indicators").get_data(as_text=True)
    assert "Personnes relogées" in html
    with database(app) as session:
        added = session.scalar(select(Indicator).filter_by(name="Personnes relogées"))
        assert (added.unit, added.position, added.is_shared) == ("personnes", 3, True)
        added_id = added.id

    # The same name, whatever the case: an error beside the field, never a 500.
    response = client.post("/roadmaps/indicators/new", data={"name": SHARED.upper(), "position": "0"})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "name") == [
        french(app, "An indicator of the national list already has this name.")
    ]
    response = client.post(f"/roadmaps/indicators/{added_id}/edit", data={"name": SHARED, "position": "1"})
    assert response.status_code == 400 and errors_beside(response.get_data(as_text=True), "name")
    # Bad input stays beside its field.
    response = client.post("/roadmaps/indicators/new", data={"name": "", "position": "abc"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "name") == [french(app, "Enter the name of the indicator.")]
    assert errors_beside(html, "position")
    response = client.post("/roadmaps/indicators/new", data={"name": "x" * 301})
    assert response.status_code == 400 and errors_beside(response.get_data(as_text=True), "name")

    response = client.post(f"/roadmaps/indicators/{added_id}/edit", data={"name": "Personnes relogées (total)", "unit": "pers.", "position": "2"})
    assert response.status_code == 302
    with database(app) as session:
        assert session.get(Indicator, added_id).name == "Personnes relogées (total)"
        assert session.get(Indicator, added_id).aggregation == Aggregation.FLOW  # the default

    # Taken off the list: the roadmap keeps its copy, the network view stops adding it up.
    shared_id = shared_indicator_id(app)
    assert client.post(f"/roadmaps/indicators/{shared_id}/remove").status_code == 302
    with database(app) as session:
        assert session.get(Indicator, shared_id).is_shared is False
        kept = shared_row(roadmap.id)
        assert kept is not None and len(kept.targets) == 2 and len(kept.values) == 1
    html = client.get("/roadmaps/indicators").get_data(as_text=True)
    removed = table_rows(html, "removed-list")
    assert SHARED in removed[1][0] and "1 feuille de route" in removed[1][4]
    assert SHARED not in summary(client.get("/roadmaps/network").get_data(as_text=True))
    assert client.post(f"/roadmaps/indicators/{shared_id}/restore").status_code == 302
    assert SHARED in summary(client.get("/roadmaps/network").get_data(as_text=True))


def test_the_national_team_says_how_an_indicator_adds_up(app, client, logged_in):
    logged_in("animator")
    form = client.get("/roadmaps/indicators/new").get_data(as_text=True)
    checked = [n.attrs.get("value") for n in parse(form).iter() if n.tag == "input" and n.attrs.get("name") == "aggregation"
               and "checked" in n.attrs]
    assert checked == ["flow"]
    assert french(app, "Rate: the latest value counts, averaged across territories (e.g. a percentage)") in form
    response = client.post("/roadmaps/indicators/new", data={"name": "Taux de maintien", "unit": "%", "aggregation": "rate"})
    assert response.status_code == 302
    with database(app) as session:
        added = session.scalar(select(Indicator).filter_by(name="Taux de maintien"))
        assert added.aggregation == Aggregation.RATE
        added_id = added.id
    html = client.get("/roadmaps/indicators").get_data(as_text=True)
    row = next(r for r in table_rows(html, "national-list") if "Taux de maintien" in r[0])
    assert row[3].replace("\xa0", " ") == french(app, "Rate: the latest value counts, averaged across territories (e.g. a percentage)").replace("\xa0", " ")
    edit = client.get(f"/roadmaps/indicators/{added_id}/edit").get_data(as_text=True)
    assert [n.attrs.get("value") for n in parse(edit).iter()
            if n.tag == "input" and n.attrs.get("name") == "aggregation" and "checked" in n.attrs] == ["rate"]
    assert client.post(f"/roadmaps/indicators/{added_id}/edit",
                       data={"name": "Places captées", "aggregation": "stock"}).status_code == 302
    with database(app) as session:
        assert session.get(Indicator, added_id).aggregation == Aggregation.STOCK
    # Anything else is an error beside the field, never a 500.
    response = client.post(f"/roadmaps/indicators/{added_id}/edit", data={"name": "Places captées", "aggregation": "median"})
    assert response.status_code == 400
    fieldset = next(n for n in parse(response.get_data(as_text=True)).iter() if n.attrs.get("id") == "aggregation")
    assert "fr-fieldset--error" in fieldset.classes
    assert [n.text() for n in fieldset.iter() if "fr-message--error" in n.classes]
    with database(app) as session:
        assert session.get(Indicator, added_id).aggregation == Aggregation.STOCK


def test_a_name_taken_meanwhile_is_a_form_error_not_a_500(app, make_user, monkeypatch):
    """Two people adding the same name at once: the unique constraint answers, the service says so beside the field."""
    from extranet.auth.services import ServiceError

    admin = make_user("admin")
    with app.test_request_context(), database(app) as session:
        session.add(Indicator(name="Personnes relogées"))
        session.commit()
        monkeypatch.setattr(network, "_name_taken", lambda name, but=None: False)  # the other person's commit lands after the check
        with pytest.raises(ServiceError) as refused:
            network.create_indicator(session.merge(admin), name="Personnes relogées")
        assert refused.value.field == "name"
        session.rollback()
        assert session.scalar(select(Indicator.name).filter_by(name="Personnes relogées")) == "Personnes relogées"


def test_the_remove_button_asks_for_confirmation(app, client, logged_in, make_roadmap):
    make_roadmap("lyon", status="validated")
    logged_in("admin")
    html = client.get("/roadmaps/indicators").get_data(as_text=True)
    dialog = next(n for n in parse(html).iter() if n.tag == "dialog")
    form = next(n for n in dialog.iter() if n.tag == "form")
    assert form.attrs["action"] == f"/roadmaps/indicators/{shared_indicator_id(app)}/remove" and form.attrs["method"] == "post"


# --- A bounded number of statements ----------------------------------------------------------------


def test_network_page_runs_the_same_queries_for_2_and_8_territories(app, client, logged_in, make_roadmap):
    for slug in TERRITORIES[:2]:
        make_roadmap(slug, status="validated")
    logged_in("admin")
    indicator_id = shared_indicator_id(app)
    few = [queries_for(app, client, url) for url in ("/roadmaps/network", f"/roadmaps/network?indicator={indicator_id}&roadmaps=all",
                                                    "/roadmaps/network.xlsx", "/roadmaps/indicators")]
    for slug in TERRITORIES[2:]:
        roadmap = make_roadmap(slug, status="validated")
        add_value(app, roadmap, "2.5")
    many = [queries_for(app, client, url) for url in ("/roadmaps/network", f"/roadmaps/network?indicator={indicator_id}&roadmaps=all",
                                                     "/roadmaps/network.xlsx", "/roadmaps/indicators")]
    assert many == few
    assert max(many) <= 15


def test_network_pages_on_a_phone_use_the_shared_badges_and_wrapping_cells(app, client, logged_in, make_roadmap):
    """A roadmap's status reads as on its own page; the national list's descriptions
    wrap in a plain cell instead of stretching a bold header cell (and the page) on a phone."""
    make_roadmap("lyon", status="validated")
    make_roadmap("nantes", status="draft")
    logged_in("admin")
    html = client.get("/roadmaps/network?roadmaps=all").get_data(as_text=True)
    table = next(n for n in parse(html).iter() if n.attrs.get("id") == "territory-table")
    badges = [n for n in table.iter() if "roadmap-status-badge" in n.classes]
    assert [c for b in badges for c in b.classes if c.startswith("roadmap-status-badge--")] == ["roadmap-status-badge--draft"]
    # The chart's table is named by a caption, not by a heading.
    figure = next(n for n in parse(html).iter() if n.tag == "figure")
    assert "chart-figure" in figure.classes and any(n.tag == "caption" for n in figure.iter())
    assert not any(n.tag in ("h2", "h3", "h4") for n in figure.iter())
    with database(app) as session:
        indicator = session.scalar(select(Indicator).filter_by(name=SHARED))
        indicator.description = "Une description assez longue pour devoir passer à la ligne sur un téléphone."
        session.commit()
    listed = parse(client.get("/roadmaps/indicators").get_data(as_text=True))
    row = next(tr for tr in listed.iter() if tr.tag == "tr" and SHARED in tr.text())
    header = next(c for c in row.iter() if c.tag == "th")
    assert header.text().strip() == SHARED and "fr-cell--multiline" in header.classes
    cell = next(c for c in row.iter() if c.tag == "td" and "passer à la ligne" in c.text())
    assert "fr-cell--multiline" in cell.classes
