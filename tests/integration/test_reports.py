"""Reports from the store: every report of every example renders to HTML and a PDF that opens, the
charts plot what the rules compute, names are escaped, and the command writes where it says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from models.findings import is_open
from models.gates import CERTIFICATION_GATES, company_progress, evaluate_gate, policy_for
from models.maturity import DIMENSIONS
from models.network import Network
from services import reports
from services.errors import UnknownCompany
from services.unit_of_work import SqlAlchemyUnitOfWork
from tasks.networkfile import read_network
from tasks.reporting import REPORT_KINDS, Report, build_report
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
        assert network.name in text and report.summary in text and text.count("data:image/png;base64,") >= 1
        reader = PdfReader(pdf)
        assert len(reader.pages) > 0, (kind, example)
        assert network.id in reader.pages[0].extract_text()
        assert not list(html.parent.glob(".*")), "no temporary files left behind"


def test_the_charts_plot_what_the_rules_compute_from_the_store(store: Path) -> None:
    network = imported("blocked")
    as_of = EXAMPLES["blocked"]
    policy = policy_for(network)
    gap, _ = make_report("gap", network.id, as_of)

    coverage = gap.chart("training-coverage").data
    assert coverage == {r.company: r.training_coverage for r in company_progress(network, as_of, policy)}
    lby = network.company("LBY")
    active = [e for e in lby.employees if e.hired_on <= as_of and (e.left_on is None or e.left_on > as_of)]
    # Three planted short of training, one new hire within the grace period.
    assert coverage["LBY"] < 1 and round(coverage["LBY"] * len(active)) == len(active) - 3 - 1

    results = [evaluate_gate(stage, network, as_of, policy) for stage in CERTIFICATION_GATES]
    checks = [c for r in results for c in r.checks]
    assert gap.chart("readiness").data[as_of.isoformat()] == sum(c.passed for c in checks) / len(checks)

    findings = gap.chart("findings").data
    raised = [f for c in network.companies for a in c.internal_audits if a.date <= as_of for f in a.findings]
    raised += [f for x in network.external_audits if x.start <= as_of for f in x.findings]
    assert sum(sum(row.values()) for row in findings["by_period"].values()) == len(raised)
    assert sum(sum(row.values()) for row in findings["by_clause"].values()) == len(raised)
    assert findings["by_clause"]["8.2"] == {"major": 1}

    ageing = gap.chart("action-ageing").data
    open_actions = [a for f in raised for a in f.actions if is_open(a.closed_on, as_of)]
    overdue = [a for a in open_actions if a.due < as_of]
    assert sum(on_time for on_time, _ in ageing.values()) == len(open_actions) - len(overdue)
    assert sum(late for _, late in ageing.values()) == len(overdue) == 1

    improvement = build_report("improvement", network, as_of)
    plotted = improvement.chart("objectives").data
    for company in network.companies:
        for o in company.objectives:
            assert o.baseline is not None and o.target is not None
            expected = {y: (v - o.baseline) / (o.target - o.baseline)
                        for y, v in sorted(o.measurements.items())}
            assert plotted[f"{company.id}/{o.id}"] == pytest.approx(expected)
    totals = improvement.chart("indicators").data
    energy = [i.values for c in network.companies for i in c.indicators if i.kind.value == "energy"]
    assert totals["energy"] == pytest.approx({y: sum(v[y] for v in energy) for y in energy[0]})

    levels = make_report("maturity", network.id, as_of)[0].chart("maturity").data
    assert set(levels) == set(DIMENSIONS) and all(sum(n) == 26 for n in levels.values())


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
    assert set(report.chart("training-coverage").data) == {"MLT"}
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
    assert all(max(series, default=2023) <= 2023 for series in report.chart("objectives").data.values())
