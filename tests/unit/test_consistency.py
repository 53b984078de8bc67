"""The docs stay true: every flow documented and tested, every command in the README."""

from __future__ import annotations

import importlib
import json
import pkgutil
from datetime import date
from pathlib import Path

import typer.main
from prefect import Flow

import flows
from adapters.networkfile import network_schema
from adapters.rendering import render
from hackefors import PROJECT_ROOT
from hackefors.cli import app
from models.certification import CertificateDraft

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def all_flows() -> dict[str, Flow]:  # type: ignore[type-arg]
    found = {}
    for info in pkgutil.iter_modules(flows.__path__):
        module = importlib.import_module(f"flows.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Flow) and value.fn.__module__ == module.__name__:
                found[info.name] = value
    return found


def test_every_flow_module_has_one_public_flow_of_its_name_with_a_docstring() -> None:
    found = all_flows()
    assert len(found) == 14
    for module, flow_ in found.items():
        assert flow_.fn.__name__ == module
        assert flow_.description and flow_.description.strip().endswith(".")
        assert flow_.name in README, f"flow {flow_.name} is not in the README"


def test_every_flow_is_exercised_by_a_test() -> None:
    tests = "".join(p.read_text() for p in (PROJECT_ROOT / "tests").rglob("test_*.py"))
    from flows.certify_network import STAGES

    run_by_parent = {s.fn.__name__ for s in STAGES} | {"decide_certification"}
    for module in all_flows():
        assert module in tests or module in run_by_parent, module


def test_every_cli_command_is_in_the_readme() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name, command in commands.items():
        for sub in getattr(command, "commands", {None: None}):
            full = f"hackefors {name}" + (f" {sub}" if sub else "")
            assert full in README, f"`{full}` is missing from the README"


def test_the_committed_json_schema_is_current() -> None:
    committed = json.loads((PROJECT_ROOT / "docs" / "network-file.schema.json").read_text())
    assert committed == network_schema(), "run `hackefors schema -o docs/network-file.schema.json`"


def test_the_certificate_renders_and_escapes_html_in_names() -> None:
    draft = CertificateDraft(
        network_id="n", network_name="<script>alert(1)</script> Nät", operator="Altea <i>AB</i>",
        cycle="S2", issued_on=date(1999, 2, 15), valid_until=date(2002, 2, 14), scope="Scope & more",
        companies=({"id": "A", "name": "Bygg <b>AB</b>", "organisation_number": "556000-0001",
                    "site_address": "Gata <1>", "central_function": True},),
        certification_body={"name": "CB <u>AB</u>", "accreditation_body": "Swedac",
                            "accreditation_number": "1234", "address": "Box <7>"})
    html = render("certificate.html.j2", certificate=draft, number="HKF-1",
                  verification_url="https://x.example/verify/HKF-1?a=<b>", qr_code="data:image/svg+xml,x")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Nät" in html
    assert "Bygg &lt;b&gt;AB&lt;/b&gt;" in html and "Scope &amp; more" in html
    assert "CB &lt;u&gt;AB&lt;/u&gt;" in html and "Box &lt;7&gt;" in html and "Gata &lt;1&gt;" in html
    assert "Altea &lt;i&gt;AB&lt;/i&gt;" in html and "?a=&lt;b&gt;" in html
    assert "accredited by Swedac, no. 1234" in html and "central function" in html
    assert "3-year cycle 1999-02-15 to 2002-02-14" in html and "S2" not in html


def test_every_template_is_used() -> None:
    sources = "".join(p.read_text() for p in PROJECT_ROOT.glob("*/*.py"))
    for template in Path(PROJECT_ROOT / "templates").glob("*.j2"):
        stem = template.name.split(".")[0]  # reminder.html.j2 and reminder.txt.j2 are "reminder"
        assert template.name in sources or f'"{stem}"' in sources, template.name


def test_every_flow_operators_run_has_a_deployment_in_code_and_in_prefect_yaml() -> None:
    import yaml

    from flows.certify_network import STAGES

    run_as_subflows = {s.fn.__name__ for s in STAGES} | {"decide_certification"}
    declared = yaml.safe_load((PROJECT_ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]
    entrypoints = {d["entrypoint"] for d in declared}
    code = (PROJECT_ROOT / "deployments" / "serve.py").read_text()
    for module in all_flows():
        if module in run_as_subflows:
            continue
        assert f"flows/{module}.py:{module}" in entrypoints, module
        assert f"{module}.to_deployment(" in code, module


def test_the_spreadsheet_columns_in_the_docs_are_the_published_ones() -> None:
    from models.spreadsheets import COLUMNS

    doc = (PROJECT_ROOT / "docs" / "spreadsheets.md").read_text(encoding="utf-8")
    for kind, columns in COLUMNS.items():
        section = doc.split(f"### {kind.value.capitalize()}\n", 1)[1].split("\n\n###", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert rows == [f"| `{c.name}` | {'yes' if c.required else 'no'} | {c.meaning} | "
                        f"{c.example or '(empty)'} |" for c in columns]
        assert ", ".join(f"`{c.name}`" for c in columns) in README, f"the README's {kind.value} columns"
