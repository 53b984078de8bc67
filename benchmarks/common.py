"""What every benchmark prints beside its figures: the target each figure is held to, and the
machine's load average (the machine is shared; a figure means little without it)."""

from __future__ import annotations

import os


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def against(figure: float, target: float, unit: str = "s", *, at_most: bool = True) -> str:
    """`figure` with its target and whether it is met, e.g. "2.41 s (target < 3 s: met)"."""
    met = figure <= target if at_most else figure >= target
    sign = "<=" if at_most else ">="
    return f"{figure:.2f} {unit} (target {sign} {target:g} {unit}: {'met' if met else 'NOT met'})"


def banner(title: str) -> None:
    """The benchmark's title and the load it starts under."""
    print(f"## {title} ({load_average()})", flush=True)


def closing() -> None:
    print(f"(ended under {load_average()})", flush=True)
