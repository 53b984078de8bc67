"""Reports from the store: every report of every example renders to HTML and a PDF that opens, the
charts plot what the rules compute, names are escaped, and the command writes where it says."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from adapters.networkfile import read_network
from adapters.reporting import REPORT_KINDS, Report, build_report
from models.errors import UnknownCompany
from models.gap import STAGE_TITLES, gap_analysis
from models.gates import policy_for
from models.network import Network
from services import reports
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import EXAMPLES, EXAMPLES_DIR, build, example_data, save
from tests.integration.test_cli import run


def imported(name: str) -> Network:
    """Import the example into the store; the network as the file says it."""
    network = read_network(EXAMPLES_DIR / f"{name}.yaml")
    save(network)
    return network


def make_report(kind: str, network_id: str, as_of: date, company_id: str | None = None,
                formats: tuple[str, ...] = ("html",)) -> tuple[Report, list[Path]]:
    """Make a report from the configured store into the default folder, as the CLI does."""
    return reports.make_report(SqlAlchemyUnitOfWork(), kind, network_id, as_of, company_id, formats)


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_every_report_of_every_example_renders_as_html_and_a_pdf_that_opens(
        store: Path, example: str) -> None:
    network = imported(example)
    as_of = EXAMPLES[example]
    for kind in REPORT_KINDS:
        report, paths = make_report(kind, network.id, as_of, formats=("html", "pdf"))
        html, pdf = paths
        assert html.name == f"{kind}-{network.id}-{as_of}.html" and pdf.suffix == ".pdf"
        assert html.parent == store / "out" / "reports" / network.id
        text = html.read_text(encoding="utf-8")
        assert network.name in text and report.summary in text and text.count(";base64,") >= 1
        reader = PdfReader(pdf)
        assert len(reader.pages) > 0, (kind, example)
        assert network.id in reader.pages[0].extract_text()
        assert not list(html.parent.glob(".*")), "no temporary files left behind"


def test_the_charts_from_the_store_plot_what_they_plot_from_the_file(store: Path) -> None:
    network = imported("blocked")
    as_of = EXAMPLES["blocked"]
    for kind in REPORT_KINDS:  # each chart against the rules: tests/integration/test_charts.py
        stored, _ = make_report(kind, network.id, as_of)
        assert [(c.name, c.data) for c in stored.charts] == \
            [(c.name, c.data) for c in build_report(kind, network, as_of).charts], kind


def test_a_company_report_counts_only_that_companys_gaps(store: Path) -> None:
    network = imported("blocked")
    as_of = EXAMPLES["blocked"]
    report, _ = make_report("gap", network.id, as_of, company_id="MLT")
    analysis = gap_analysis(network, as_of, policy_for(network))
    own = [i for i in analysis.gaps if i.company == "MLT"]
    shared = [i for i in analysis.gaps if i.company is None]
    assert len(own) == 2 and len(shared) == 3 and len(analysis.gaps) == 14
    assert report.summary == ("Blocked. 2 gap(s) of Malmslätts Lackering AB's own to close before "
                              "certification, and 3 of the network's that block it too; 1 company checked.")
    groups = re.findall(r'<tr class="who"><th colspan="5">([^<]*)', report.html)
    assert [g.strip() for g in groups] == ["Malmslätts Lackering AB (MLT)", network.name]
    gates = re.findall(r'<td class="(pass|fail)"><b>([^<]*)</b><br>\s*([^<]*)</td>', report.html)
    # The gates that block it: its own gaps' and the network's.
    blocking = {STAGE_TITLES[i.stage] for i in own + shared}
    assert {title for state, title, _ in gates if state == "fail"} == blocking == {
        "Formation", "Internal audits", "External audit"}


def test_every_report_table_repeats_its_header_and_reads_as_plain_prose() -> None:
    for name, as_of in EXAMPLES.items():
        network = build(example_data(name))
        for kind in REPORT_KINDS:
            html = build_report(kind, network, as_of).html
            for table in re.findall(r"<table.*?</table>", html, flags=re.S):
                if "<th" in table and 'class="gates' not in table:
                    assert "<thead>" in table, (name, kind, table[:120])
            text = re.sub(r"<[^>]+>", " ", html.split("</style>")[1])
            assert "`" not in text, (name, kind)
            glued = re.findall(r"\d{4}-\d{2}-\d{2}[A-Za-zÅÄÖåäö]", text)
            assert not glued, (name, kind, glued)


@pytest.mark.slow
def test_page_one_of_the_gap_report_is_the_verdict_and_a_ready_network_gets_a_short_one(
        store: Path) -> None:
    blocked = imported("blocked")
    _, (pdf,) = make_report("gap", blocked.id, EXAMPLES["blocked"], formats=("pdf",))
    reader = PdfReader(pdf)
    first = reader.pages[0].extract_text()
    assert "Blocked: not ready for certification" in first and "What blocks certification" in first
    assert "Östgöta Åkeri AB (OAK)" in first and "Progress" not in first  # who, before any chart
    assert len(reader.pages) <= 8
    ready = imported("hackefors")
    _, (pdf,) = make_report("gap", ready.id, EXAMPLES["hackefors"], formats=("pdf",))
    reader = PdfReader(pdf)
    assert "Ready for the certification decision" in reader.pages[0].extract_text()
    assert len(reader.pages) <= 6  # was 28: no page per company when nothing is missing


def test_html_in_names_is_escaped_in_every_report() -> None:
    data = example_data("small")
    data["name"] = "<script>alert('net')</script> Nät & Co"
    company = data["companies"][0]
    company["name"] = "Svets <b>AB</b>"
    company["coordinator"]["name"] = "<img src=x onerror=alert(1)>"
    company["objectives"][0]["description"] = "Less <i>waste</i>"
    company["aspects"][0]["description"] = "Oil & <u>grease</u>"
    company["aspects"][0]["significance"] = "high"
    company["integrated_with"] = ["<iframe>"]
    network = build(data)
    for kind in REPORT_KINDS:
        html = build_report(kind, network, EXAMPLES["small"]).html
        for raw in ("<script>", "<b>AB</b>", "<img src=x", "<i>waste</i>", "<u>grease</u>", "<iframe>"):
            assert raw not in html, (kind, raw)
        assert "&lt;script&gt;alert(&#39;net&#39;)&lt;/script&gt; Nät &amp; Co" in html, kind
        assert "Svets &lt;b&gt;AB&lt;/b&gt;" in html, kind


def test_a_company_report_covers_that_company_only(store: Path) -> None:
    network = imported("blocked")
    report, _ = make_report("gap", network.id, EXAMPLES["blocked"], company_id="MLT")
    assert not report.has_chart("training-coverage")  # one bar: its row in the table says it
    assert "MLT-IA1-F9-A1" in report.html and "LBY-E01" not in report.html
    assert report.stem == f"gap-hackefors-blocked-MLT-{EXAMPLES['blocked']}"


def test_a_report_of_an_unknown_company_is_refused_before_anything_is_written(store: Path) -> None:
    network = imported("blocked")
    with pytest.raises(UnknownCompany, match="no company 'NOPE' in network 'hackefors-blocked'; known: "):
        make_report("gap", network.id, EXAMPLES["blocked"], company_id="NOPE")
    assert not (store / "out" / "reports").exists()


def test_the_report_command_writes_the_files_and_prints_their_paths(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imported("small")
    assert run("report", "statement", "--as-of", "2025-03-03", "-f", "pdf", "-f", "html") == 0
    printed = capsys.readouterr()
    paths = [Path(line) for line in printed.out.split()]
    assert [p.suffix for p in paths] == [".pdf", ".html"] and all(p.is_file() for p in paths)
    assert "site(s)" in printed.err
    assert len(PdfReader(paths[0]).pages) > 0
    assert run("report", "maturity", "-c", "VTR", "--as-of", "2025-03-03", "-o", str(store / "mine")) == 0
    assert (store / "mine" / "maturity-ostgota-small-VTR-2025-03-03.html").is_file()


@pytest.mark.parametrize("args,message", [
    (("report", "weather"), "unknown report 'weather'; choose one of gap, improvement, statement, maturity"),
    (("report", "-f", "docx"), "unknown format 'docx'; choose html or pdf"),
    (("report", "-c", "NOPE"), "no company 'NOPE' in network 'ostgota-small'; known: NSM, SKT, VTR"),
    (("report", "-n", "nope"), "no network 'nope' in the store"),
])
def test_the_report_command_refuses_bad_input_and_writes_nothing(
        store: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    imported("small")
    assert run(*args) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")
    assert not (store / "out" / "reports").exists()


def test_a_report_date_before_the_records_uses_only_what_was_known() -> None:
    network = build(example_data("small"))
    early = date(2023, 6, 1)
    report = build_report("improvement", network, early)
    assert all(max(series, default=2023) <= 2023
               for panel in report.chart("objectives").data.values() for series in panel.values())
