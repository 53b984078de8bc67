"""Time and peak memory of the portal receiving hostile uploads.

    .venv/bin/python benchmarks/hostile_uploads.py [--only LABEL]

Imports the small example into a fresh SQLite store (a temporary folder), invites the coordinator
of its first company, starts `hackefors portal` on a free port of 8120-8139 as of 2025-03-03, signs
in and sends each upload below over HTTP. For each: the HTTP status, the time to the answer and how
far the upload moved the portal's peak resident memory above what it held before (Linux: the
process's high-water mark, VmHWM, reset through /proc/PID/clear_refs before each upload, so the
peak of every upload is measured alone and none is missed between samples). The goal: no upload
moves the peak by more than 100 MiB. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import html
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import against, banner, closing  # noqa: E402
from deployments.server import free_port  # noqa: E402

HACKEFORS = Path(sys.executable).parent / "hackefors"
NETWORK, COMPANY, AS_OF = "ostgota-small", "NSM", "2025-03-03"
LIMIT_MB = 10  # HACKEFORS_MAX_EVIDENCE_MB's default: every spreadsheet below is within it
GOAL_MIB = 100


def one_cell_rows() -> bytes:
    """5 million one-cell rows: 10 MB, within the size limit, 500 times the row limit."""
    return b"x\n" * 4_999_999


def roster_rows(rows: int, bad: bool = False) -> bytes:
    lines = [b"employee_id,name,hired_on,left_on"]
    day = b"2025-02-30" if bad else b"2020-01-01"
    lines += [b"H%06d,P%d,%s," % (i, i, day) for i in range(rows)]
    return b"\n".join(lines) + b"\n"


def header_and_one_cell_rows() -> bytes:
    """A roster's header, then 5 million rows of one cell: every row a problem."""
    return b"employee_id,name,hired_on\n" + b"x\n" * 4_999_980


def attendance_unknown(rows: int) -> bytes:
    lines = [b"employee_id,date,hours,topics,trainer"]
    lines += [b"NOBODY-%06d,2025-02-01,8,waste_management,X" % i for i in range(rows)]
    return b"\n".join(lines) + b"\n"


def attendance_sessions(rows: int) -> bytes:
    """Each of the roster's employees (roster_rows) at a training of their own (a trainer each)."""
    lines = [b"employee_id,date,hours,topics,trainer"]
    lines += [b"H%06d,2024-06-01,8,waste_management,Trainer %d" % (i, i) for i in range(rows)]
    return b"\n".join(lines) + b"\n"


def wide_row() -> bytes:
    """One row of 2.5 million cells."""
    return b"employee_id,name,hired_on\n" + b"a," * 2_500_000 + b"\n"


def long_cell() -> bytes:
    return b"employee_id,name,hired_on\nA1," + b"n" * 9_000_000 + b",2020-01-01\n"


def xlsx_rows(rows: int) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(["employee_id", "name", "hired_on", "left_on"])
    for i in range(rows):
        sheet.append([f"NSM-X{i:07d}", f"Anställd {i}", "2020-01-01", None])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def chunks(size: int) -> Iterator[bytes]:
    """A multipart body of `size` bytes sent chunked: no Content-Length."""
    boundary = b"bench"
    yield (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
           b"Content-Type: text/csv\r\n\r\n")
    sent = 0
    while sent < size:
        part = min(1 << 20, size - sent)
        yield b"x" * part
        sent += part
    yield b"\r\n--" + boundary + b"--\r\n"


UPLOADS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "roster CSV, 5 million one-cell rows (10 MB)": ("roster", one_cell_rows),
    "roster CSV, its header and 5 million one-cell rows (10 MB)": ("roster", header_and_one_cell_rows),
    "roster CSV, 300,000 rows (over the 10,000 limit)": ("roster", lambda: roster_rows(300_000)),
    "roster CSV, 10,000 rows, each an impossible date": ("roster", lambda: roster_rows(10_000, bad=True)),
    "roster CSV, 10,000 valid new employees": ("roster", lambda: roster_rows(10_000)),
    "attendance CSV, 200,000 unknown employees": ("attendance", lambda: attendance_unknown(200_000)),
    "CSV, one row of 2.5 million cells": ("roster", wide_row),
    "CSV, one cell of 9 MB": ("roster", long_cell),
    "XLSX, 300,000 rows": ("roster", lambda: xlsx_rows(300_000)),
}


def rss_kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert found, status
    return int(found.group(1))


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak RSS (VmHWM) to the current RSS


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found, text[:500]
    return found.group(1)


class Portal:
    """`hackefors portal` on the benchmark's store, signed in as the coordinator: started afresh for
    each upload, so that what one upload leaves in memory does not hide the next one's peak."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        port = free_port(range(8120, 8140))
        url = f"http://127.0.0.1:{port}"
        self.folder, self.env, self.url = folder, {**env, "HACKEFORS_PUBLIC_URL": url}, url
        self.link = self.run("invite", "coordinator@bench.example", "--role", "coordinator", "--network",
                             NETWORK, "--company", COMPANY).split()[-1]
        self.server = subprocess.Popen([str(HACKEFORS), "portal", "--port", str(port)], cwd=ROOT,
                                       env=self.env, stdout=(folder / "portal.log").open("ab"),
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.client = httpx.Client(base_url=url, timeout=600, follow_redirects=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.client.get("/sign-in").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise SystemExit(f"the portal did not start; see {folder / 'portal.log'}")
            time.sleep(0.3)
        page = self.client.get(self.link.removeprefix(url))
        self.client.post(self.link.removeprefix(url), data={"csrf": csrf_of(page.text)})
        self.import_path = f"/networks/{NETWORK}/companies/{COMPANY}/import"
        self.csrf = csrf_of(self.client.get(self.import_path).text)
        self.client.get(self.import_path)  # warm: the page and its imports
        if self.server.poll() is not None:  # another program answered on the port
            raise SystemExit(f"the portal stopped; see {folder / 'portal.log'}")

    def run(self, *command: str) -> str:
        return subprocess.run([str(HACKEFORS), *command], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def stop(self) -> None:
        self.client.close()
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(30)


def send_upload(portal: Portal, kind: str, content: bytes) -> httpx.Response:
    return portal.client.post(portal.import_path, data={"csrf": portal.csrf, "kind": kind},
                              files={"file": ("upload.csv", content, "text/csv")})


def send_chunked(portal: Portal, size: int) -> httpx.Response:
    return portal.client.post(portal.import_path, content=chunks(size),
                              headers={"Content-Type": "multipart/form-data; boundary=bench"})


def send_and_commit(portal: Portal, content: bytes, kind: str = "roster") -> httpx.Response:
    previewed = send_upload(portal, kind, content)
    token = re.search(r'name="token" value="([^"]+)"', previewed.text)
    assert token, answer_of(previewed)
    return portal.client.post(portal.import_path + "/commit",
                              data={"csrf": portal.csrf, "token": token.group(1)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run the uploads whose label contains this text")
    parser.add_argument("--smoke", action="store_true", help="two small uploads: checks the benchmark runs")
    args = parser.parse_args()
    banner("hostile uploads to the portal: time and peak memory" + (" (smoke)" if args.smoke else ""))
    folder = Path(tempfile.mkdtemp(prefix="hackefors-bench-uploads-"))
    env = {**os.environ, "HACKEFORS_DATA_DIR": str(folder / "data"),
           "HACKEFORS_OUTPUT_DIR": str(folder / "out"), "HACKEFORS_PORTAL_AS_OF": AS_OF,
           "PREFECT_HOME": str(folder / "prefect"), "HACKEFORS_MAX_EVIDENCE_MB": str(LIMIT_MB)}
    for inherited in ("HACKEFORS_DATABASE_URL", "PREFECT_API_URL", "HACKEFORS_SMTP_HOST"):
        env.pop(inherited, None)
    subprocess.run([str(HACKEFORS), "import", "examples/small.yaml", "--as-of", AS_OF], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    over = int(env.get("HACKEFORS_PORTAL_MAX_UPLOAD_MB", "25")) * 1_000_000 + 5_000_000
    # Each case: its label, what makes its file (before the clock starts), how it is sent, and what
    # the portal is given first (not measured).
    Send = Callable[[Portal, bytes], httpx.Response]
    cases: list[tuple[str, Callable[[], bytes], Send, Callable[[Portal], object] | None]] = [
        (label, make, lambda portal, content, kind=kind: send_upload(portal, kind, content), None)
        for label, (kind, make) in UPLOADS.items()]
    cases.append(("roster CSV, 10,000 valid new employees: preview, then commit (and the to-do page)",
                  lambda: roster_rows(10_000), send_and_commit, None))
    cases.append(("attendance CSV, 10,000 rows, each a session of its own: preview, then commit (and the "
                  "to-do page), for the 10,000 employees", lambda: attendance_sessions(10_000),
                  lambda portal, content: send_and_commit(portal, content, "attendance"),
                  lambda portal: send_and_commit(portal, roster_rows(10_000))))
    cases.append((f"chunked upload of {over // 1_000_000} MB, no Content-Length (over the limit)",
                  lambda: b"", lambda portal, _: send_chunked(portal, over), None))
    if args.smoke:
        cases = [("roster CSV, 1,000 valid new employees", lambda: roster_rows(1_000),
                  lambda portal, content: send_upload(portal, "roster", content), None), cases[-1]]
    rows = []
    for label, make, send, setup in cases:
        if args.only and args.only not in label:
            continue
        content = make()
        portal = Portal(folder, env)
        try:
            if setup is not None:
                setup(portal)
            before = rss_kib(portal.server.pid, "VmRSS")
            reset_peak(portal.server.pid)
            start = time.perf_counter()
            response = send(portal, content)
            seconds = time.perf_counter() - start
            peak = rss_kib(portal.server.pid, "VmHWM")
        finally:
            portal.stop()
        rows.append((label, response.status_code, seconds, before / 1024, (peak - before) / 1024,
                     answer_of(response)))
    print(f"The portal's peak resident memory per upload, each to a freshly started portal (goal: at most "
          f"{GOAL_MIB} MiB above its level before), SQLite:")
    print("| upload | status | time | RSS before | peak above it | answer |")
    print("|---|---|---|---|---|---|")
    for label, status, seconds, before_mib, above_mib, answer in rows:
        print(f"| {label} | {status} | {seconds:.2f} s | {before_mib:.0f} MiB | "
              f"{against(above_mib, GOAL_MIB, 'MiB')} | {answer.replace('|', '/')} |")
    closing()


def answer_of(response: httpx.Response) -> str:
    """The gist of the page: the first problem the preview lists, what it would import, or the text."""
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)).strip())
    for pattern in (r"\d+ problem\(s\)[^.]*\.", r"Ready to import:[^.]*\.", r"The upload is larger[^:]*",
                    r"Imported [^ ]+\."):
        found = re.search(pattern, text)
        if found:
            first = re.search(r"Problem (file|\d+) ([^ ]+) (.{0,80})", text)
            return found.group(0) + (f" First: {first.group(1)}, {first.group(2)}: {first.group(3)}"
                                     if first and "problem" in found.group(0) else "")
    return text[:120]


if __name__ == "__main__":
    main()
