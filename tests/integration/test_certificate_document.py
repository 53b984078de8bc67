"""The certificate's PDF: issued in the certification body's name, with the verification page's URL
as text and as a QR code that a real decoder reads back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from tests.conftest import build, example_data, save, use_store
from tests.integration.test_certificates import issue

PUBLIC_URL = "https://portal.altea.example.se"
NUMBER = "HKF-OSTGOTA-SMALL-2025-01"
URL = f"{PUBLIC_URL}/verify/{NUMBER}"


@pytest.fixture
def pdf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("HACKEFORS_PUBLIC_URL", PUBLIC_URL + "/")  # a trailing slash is no double slash
    use_store(monkeypatch, tmp_path)
    save(build(example_data("small")))
    return issue("ostgota-small", "run-1").pdf_path


def text_of(pdf: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())


@pytest.mark.slow
def test_the_pdf_names_the_certification_body_as_certifier_and_the_verification_url(pdf: Path) -> None:
    text = text_of(pdf)
    assert ("Nordisk Certifiering AB, accredited by Swedac, no. 1567, certifies that the environmental "
            "management system of") in text
    assert "Coordinated by Altea AB, the network's coordinating organisation" in text
    assert "Issued by" not in text
    assert URL in text
    assert "3-year cycle 2025-03-03 to 2028-03-02" in text and "EXT-S2" not in text
    # The appendix: organisation numbers, site addresses and the central function.
    assert "556490-8548" in text and "Bergslagsgatan 9, 602 53 Norrköping" in text
    assert "central function" in text


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (poppler-utils) to render")
def test_the_qr_code_on_the_pdf_decodes_to_the_verification_url(pdf: Path, tmp_path: Path) -> None:
    subprocess.run(["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    (page,) = tmp_path.glob("page*.png")
    found = zxingcpp.read_barcodes(Image.open(page))
    assert [(b.format, b.text) for b in found] == [(zxingcpp.BarcodeFormat.QRCode, URL)]
