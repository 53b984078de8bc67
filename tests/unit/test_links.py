"""The portal's paths: every kind of reminder item leads to a page."""

from __future__ import annotations

from models.links import PAGE_FOR_KIND, Page, absolute, company_path, verify_path
from models.reminders import Kind


def test_every_reminder_kind_has_a_page_that_resolves_it() -> None:
    assert set(PAGE_FOR_KIND) == set(Kind)


def test_company_paths_and_absolute_urls() -> None:
    assert company_path("hackefors", "rsb") == "/networks/hackefors/companies/rsb"
    assert company_path("hackefors", "rsb", Page.TRAINING) == "/networks/hackefors/companies/rsb/training"
    assert absolute("https://portal.example/", verify_path("HKF-1")) == "https://portal.example/verify/HKF-1"
