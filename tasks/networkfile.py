"""Network files (YAML or JSON): read with line numbers, validate completely, write back."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from models.network import Network
from models.validation import Loc, Problem, check_network, format_loc


class FileProblem(Problem):
    file: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {format_loc(self.loc)}: {self.message}"


class NetworkFileError(Exception):
    """A network file that cannot be used; `problems` lists every reason at once."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _LineLoader(yaml.SafeLoader):
    """A safe loader that keeps dates as text, so pydantic reports impossible dates itself."""


# Keep YAML timestamps as strings: pydantic parses them and names the bad ones by place.
_LineLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct(node: yaml.Node, loader: _LineLoader, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            out[key] = _construct(value_node, loader, (*loc, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, loader, (*loc, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_text(text: str, name: str) -> tuple[Any, dict[Loc, int]]:
    """The data in a YAML or JSON document and the line of every location in it."""
    lines: dict[Loc, int] = {}
    if name.endswith(".json"):
        try:
            return json.loads(text), lines
        except json.JSONDecodeError as exc:
            raise NetworkFileError([FileProblem(file=name, line=exc.lineno, loc=(),
                                                message=f"not valid JSON: {exc.msg}")]) from None
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        return (_construct(node, loader, (), lines) if node is not None else None), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise NetworkFileError([FileProblem(file=name, line=mark.line + 1 if mark else None, loc=(),
                                            message=f"not valid YAML: {problem}")]) from None
    finally:
        loader.dispose()


def _line(lines: dict[Loc, int], loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def validate_data(data: Any, name: str, lines: dict[Loc, int], as_of: date | None) -> Network:
    """The network in `data`, or NetworkFileError with every structural or cross-reference problem."""
    if not isinstance(data, dict):
        raise NetworkFileError([FileProblem(file=name, line=1, loc=(),
                                            message="a network file holds one mapping (the network)")])
    try:
        network = Network.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(FileProblem(file=name, line=_line(lines, loc), loc=loc,
                                        message=_message(err)))
        raise NetworkFileError(problems) from None
    problems = [FileProblem(file=name, line=_line(lines, p.loc), loc=p.loc, message=p.message)
                for p in check_network(network, as_of)]
    if problems:
        raise NetworkFileError(problems)
    return network


def _message(err: dict[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in {"missing", "extra_forbidden"}:
        return msg.lower()
    value = err.get("input")
    if isinstance(value, str | int | float) and err["type"] not in {"missing"}:
        return f"{msg} (got {value!r})"
    return msg


def read_network(path: Path, as_of: date | None = None) -> Network:
    """Read and validate a network file; NetworkFileError lists every problem, with lines."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkFileError([FileProblem(file=name, loc=(), message="no such file")]) from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise NetworkFileError([FileProblem(file=name, loc=(), message=f"cannot read: {exc}")]) from None
    data, lines = parse_text(text, name)
    return validate_data(data, name, lines, as_of)


def network_document(network: Network) -> dict[str, Any]:
    """The network as a plain document, leaving out what is empty or default."""
    return network.model_dump(mode="json", exclude_defaults=True)


def dump_network(network: Network, fmt: str = "yaml") -> str:
    document = network_document(network)
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def network_schema() -> dict[str, Any]:
    schema = Network.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Hackefors network file"
    return schema
