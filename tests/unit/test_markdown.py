"""What people wrote reaches Prefect's markdown artifacts as text: no link, image, HTML or markup of
its own, in the certification summary, the gate tables and the gap report's artifact."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from adapters.rendering import markdown_text
from models.catalogue import Stage
from models.results import Check, GateResult
from services.gates import RunSummary
from tasks.gates import certification_summary_markdown, gate_table, sign_off_markdown
from tasks.reports import gap_report_markdown

HOSTILE = ("[Approve sign-off here](https://evil.example/approve) ![](https://evil.example/pixel.png) "
           "<img src=x onerror=alert(1)> <script>alert(2)</script> <a href='https://evil.example'>x</a> "
           "**urgent** _now_ ~~old~~ `code` | cell | &lt;b&gt; www.evil.example mail@evil.example "
           "https://evil.example/raw \\[escaped\\]")
AS_OF = date(1999, 2, 15)
# CommonMark with raw HTML allowed and GFM's tables and strikethrough: the worst case for us.
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def rendered(markdown: str) -> str:
    return RENDERER.render(markdown)


def tags(rendered_html: str) -> set[str]:
    return set(re.findall(r"<([a-z0-9]+)", rendered_html))


def text_of(rendered_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered_html)).strip()


def no_autolink(markdown: str) -> bool:
    """GFM's autolinks (which this renderer lacks) need an unescaped scheme, www. or @."""
    plain = markdown.replace("\\:", "").replace("\\@", "").replace("\\.", "")
    return not re.search(r"://|www\.|@", plain)


def hostile_summary() -> RunSummary:
    finding = Check(requirement="open-majors", company="MLT", passed=False, detail=f"Major MLT-F1: {HOSTILE}")
    network = Check(requirement="recommendation", company=None, passed=False, detail=HOSTILE)
    return RunSummary(network_id="hackefors", as_of=AS_OF, gates=[
        GateResult(network_id="hackefors", stage=Stage.INTERNAL_AUDITS, as_of=AS_OF, checks=(finding,)),
        GateResult(network_id="hackefors", stage=Stage.EXTERNAL_AUDIT, as_of=AS_OF, checks=(network,))])


def test_a_hostile_finding_reads_as_text_in_the_certification_summary() -> None:
    markdown = certification_summary_markdown(hostile_summary(), None)
    page = rendered(markdown)
    assert tags(page) <= {"h1", "h2", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td",
                          "ul", "li"}
    assert "<a " not in page and "<img" not in page and "<script" not in page and "<del" not in page
    assert page.count("<strong>") == 3  # the outcome and the two companies: nothing of the finding's
    assert f"Major MLT-F1: {HOSTILE}" in text_of(page)  # every character shows, as written
    assert no_autolink(markdown)


def test_the_gate_table_cells_and_the_sign_off_summary_are_text() -> None:
    summary = hostile_summary()
    for gate in summary.gates:
        for row in gate_table(gate):
            for cell in row.values():
                page = rendered(f"| x |\n|---|\n| {cell} |")
                assert tags(page) <= {"table", "thead", "tbody", "tr", "th", "td"}, cell
                assert no_autolink(cell)
    from models.certification import CertificateDraft
    from services.gates import SignOffBrief

    draft = CertificateDraft(
        network_id="hackefors", network_name=HOSTILE, operator=HOSTILE, cycle="EXT-S2", issued_on=AS_OF,
        valid_until=AS_OF, scope=HOSTILE, companies=(("MLT", HOSTILE),), certification_body=HOSTILE)
    brief = SignOffBrief(network_name=HOSTILE, as_of=AS_OF, certificate=draft, open_minors=[HOSTILE],
                         run=summary)
    page = rendered(sign_off_markdown(brief, []))
    assert tags(page) <= {"h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code", "ul",
                          "li"}
    assert "<a " not in page and "<img" not in page and "<script" not in page


def test_the_gap_report_artifact_links_only_its_own_files(tmp_path: Path) -> None:
    folder = tmp_path / "reports [x](https:" / "a)b ![](https:" / "<img src=x onerror=alert(1)>"
    paths = [folder / "gap.html", folder / "gap.pdf"]
    renderer = MarkdownIt("commonmark", {"html": True})
    renderer.validateLink = lambda url: True  # markdown-it drops file: links; Prefect's UI shows them
    page = renderer.render(gap_report_markdown("hackefors", AS_OF, "14 gap(s) to close", paths))
    links = re.findall(r'<a href="([^"]+)"', page)
    assert links == [p.as_uri() for p in paths]
    assert "<img" not in page and "<script" not in page


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=80))
def test_any_text_comes_out_as_itself_and_nothing_else(text: str) -> None:
    # (CommonMark turns NUL into U+FFFD; names cannot hold one anyway.)
    page = rendered(f"x {markdown_text(text)}")
    assert tags(page) <= {"p"}
    assert " ".join(text_of(page).split()) == " ".join(f"x {text}".split())
