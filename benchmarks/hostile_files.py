"""Time and peak memory of `hackefors validate` refusing hostile network files.

Writes each hostile file into a temporary folder, runs the command under `/usr/bin/time -v` (the
Debian `time` package) three times, and prints a Markdown table: the exit code, the best wall-clock
time, and the peak resident memory of the whole process (Python and its imports included). Each
process runs with its address space capped at 4 GB, so a regression fails here instead of taking
the machine's memory.

    .venv/bin/python benchmarks/hostile_files.py
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL = (ROOT / "examples" / "small.yaml").read_text(encoding="utf-8")
RUNS = 3


def alias_bomb() -> str:
    """Billion laughs: ten levels of ten aliases, 10^9 strings from 528 bytes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nid: *a9\n"


CASES: dict[str, tuple[str, str | bytes]] = {
    "YAML alias bomb (528 bytes)": ("bomb.yaml", alias_bomb()),
    "duplicate key (company name)": ("duplicate.yaml", SMALL.replace(
        "  name: Norrköpings Svets & Montage AB\n",
        "  name: Norrköpings Svets & Montage AB\n  name: Someone Else AB\n", 1)),
    "`NaN` in JSON": ("nan.json", '{"id": "x", "training_sessions": [{"hours": NaN}]}'),
    "`.inf` in YAML": ("inf.yaml", SMALL.replace("hours: 8.0", "hours: .inf", 1)),
    "10,000 levels of nesting, JSON": ("deep.json", "[" * 10_000 + "]" * 10_000),
    "10,000 levels of nesting, YAML": ("deep.yaml", "a: " + "[" * 10_000 + "]" * 10_000 + "\n"),
    "100,000-digit number": ("number.yaml", "id: x\npersonnel: " + "9" * 100_000 + "\n"),
    "15 MB name": ("name.yaml", "id: x\nname: " + "x" * 15_000_000 + "\n"),
    "control character": ("control.yaml", "id: x\nname: A\x01B\n"),
    "lone surrogate in JSON": ("surrogate.json", '{"id": "x", "name": "\\ud800"}'),
    "not UTF-8": ("latin1.yaml", "id: x\nname: Bäckström\n".encode("latin-1")),
    "50 MB file": ("big.yaml", "# padding\n" * (5 * 1024 * 1024 + 10)),
}


def cap_memory() -> None:
    limit = 4 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def measure(path: Path) -> tuple[int, float, int, str]:
    """Exit code, best wall-clock seconds, peak RSS in MB and the first line of the refusal."""
    best, peak, code, first = float("inf"), 0, 0, ""
    for _ in range(RUNS):
        done = subprocess.run(
            ["/usr/bin/time", "-v", str(Path(sys.executable).parent / "hackefors"), "validate", str(path)],
            capture_output=True, text=True, preexec_fn=cap_memory, check=False)
        report = done.stderr
        wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", report)
        assert wall, report
        hours, minutes, seconds = wall.groups()
        best = min(best, int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds))
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
        assert rss, report
        peak = max(peak, int(rss.group(1)) // 1024)
        code = int(re.search(r"Exit status: (\d+)", report).group(1))  # type: ignore[union-attr]
        first = next((line for line in report.splitlines() if str(path.name) in line), "")
    return code, best, peak, first


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print("| hostile file | exit | time | peak memory | refusal |")
        print("|---|---|---|---|---|")
        for label, (name, content) in CASES.items():
            path = Path(folder) / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            code, seconds, megabytes, first = measure(path)
            message = first.split(": ", 1)[-1].split(" (got ")[0]
            print(f"| {label} | {code} | {seconds:.2f} s | {megabytes} MB | {json.dumps(message)[1:-1]} |")


if __name__ == "__main__":
    main()
