"""Network files (YAML or JSON): read safely with the line of every place, examine completely (every
problem, labelled by kind), write back."""

from __future__ import annotations

import json
import math
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from adapters.settings import get_settings
from models.gates import CERTIFICATION_GATES, evaluate_gate, policy_for
from models.network import Network
from models.validation import Loc, Problem, check_network, format_loc

# Refused before anything is built from the file: deeper nesting than this (the format itself needs
# about ten levels), and numbers longer than this many characters.
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 100
MAX_SHOWN_VALUE = 60
BOM = "\ufeff"


# The kinds of problem, in the order a file is examined.
FILE, STRUCTURE, REFERENCE, GATE = "file", "structure", "reference", "gate"
SALVAGE_ROUNDS = 5


class FileProblem(Problem):
    """A problem of a network file: where it is, what kind it is, and what is wrong."""

    file: str
    line: int | None = None
    kind: str = FILE

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.kind}: {format_loc(self.loc)}: {self.message}"


class NetworkFileError(Exception):
    """A network file that cannot be used; `problems` lists every reason at once."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Refused(Exception):
    """The file is refused before it is read any further."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _refuse(name: str, message: str, line: int | None = None, loc: Loc = ()) -> NetworkFileError:
    return NetworkFileError([FileProblem(file=name, line=line, loc=loc, message=message)])


# libyaml parses where it is installed (it is with PyYAML's wheels): the pure-Python parser takes
# seconds for a file of a few megabytes.
_Parser: type = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _EventLoader(_Parser):  # type: ignore[misc, valid-type]
    """A safe parser whose events this module builds the data from; dates stay text, so that
    pydantic names impossible dates by place."""


_EventLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_STR_TAG = "tag:yaml.org,2002:str"
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_COLLECTION_TAGS = frozenset({None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})


class _YamlBuilder:
    """Builds the data of one YAML document from parser events, with the line of every place.

    Refused: aliases (an alias bomb of a few hundred bytes expands into gigabytes), nesting deeper
    than MAX_DEPTH, overlong numbers, tags other than the plain ones and keys that are not single
    values. Duplicate keys are collected with their lines."""

    def __init__(self, loader: _EventLoader, name: str) -> None:
        self.loader, self.name = loader, name
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[FileProblem] = []

    def document(self) -> Any:
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        data = self.node((), 1)
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            raise _Refused("a network file holds one YAML document", _event_line(loader.peek_event()))
        return data

    def node(self, loc: Loc, depth: int) -> Any:
        event = self.loader.get_event()
        line = self.lines[loc] = _event_line(event)
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"YAML aliases (*{event.anchor}) are not allowed in a network file: write the "
                           "value out", line)
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", line)
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event)
        if event.tag not in _COLLECTION_TAGS:
            raise _Refused(f"the YAML tag {event.tag} is not allowed in a network file", line)
        if isinstance(event, yaml.SequenceStartEvent):
            items: list[Any] = []
            while not self.loader.check_event(yaml.SequenceEndEvent):
                items.append(self.node((*loc, len(items)), depth + 1))
            self.loader.get_event()
            return items
        return self.mapping(loc, depth)

    def mapping(self, loc: Loc, depth: int) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        key_lines: dict[Any, int] = {}
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_event = self.loader.get_event()
            key_line = _event_line(key_event)
            if not isinstance(key_event, yaml.ScalarEvent):
                raise _Refused("a mapping key must be a single value", key_line)
            key = self.scalar(key_event)
            if key in key_lines:
                self.duplicates.append(FileProblem(
                    file=self.name, line=key_line, loc=(*loc, key),
                    message=f"duplicate key {_shown(key)} (first on line {key_lines[key]}): keep one"))
                self.node((*loc, key, "(duplicate)"), depth + 1)  # read past its value
                continue
            key_lines[key] = key_line
            mapping[key] = self.node((*loc, key), depth + 1)
        self.loader.get_event()
        return mapping

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:  # quoted: text, whatever it looks like
                return event.value
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG:
            return event.value
        if tag in _NUMBER_TAGS and len(event.value) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number of {len(event.value)} characters", _event_line(event))
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None:
            raise _Refused(f"the YAML tag {tag} is not allowed in a network file", _event_line(event))
        try:
            return construct(self.loader, yaml.ScalarNode(tag, event.value, event.start_mark,
                                                          event.end_mark, event.style))
        except (ValueError, OverflowError, TypeError) as exc:
            raise _Refused(f"cannot read the value: {exc}", _event_line(event)) from None


def _event_line(event: yaml.Event) -> int:
    return int(event.start_mark.line) + 1


def _parse_yaml(text: str, name: str) -> tuple[Any, dict[Loc, int], list[FileProblem]]:
    try:
        loader = _EventLoader(text)
    except yaml.YAMLError as exc:  # the pure-Python reader checks every character up front
        raise _refuse(name, f"not valid YAML: {_yaml_problem(exc)}", _yaml_line(exc, text)) from None
    builder = _YamlBuilder(loader, name)
    try:
        data = builder.document()
    except _Refused as exc:
        raise _refuse(name, str(exc), exc.line) from None
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in _yaml_problem(exc):  # libyaml 0.2.5 stops at 1,000 levels first
            raise _refuse(name, f"nested more than {MAX_DEPTH} levels deep", _yaml_line(exc, text)) from None
        raise _refuse(name, f"not valid YAML: {_yaml_problem(exc)}", _yaml_line(exc, text)) from None
    finally:
        loader.dispose()
    return data, builder.lines, builder.duplicates


def _yaml_problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or getattr(exc, "reason", None) or exc)


def _yaml_line(exc: yaml.YAMLError, text: str) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark else _line_at(text, getattr(exc, "position", None))


# One JSON token: a string, a structural character, or a bare word (number, true, false, null, NaN).
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"]+')


class _Frame:
    """An object or array being scanned: where it is and which key or index comes next."""

    def __init__(self, loc: Loc, is_object: bool) -> None:
        self.loc, self.is_object = loc, is_object
        self.index = 0
        self.key: str | None = None
        self.keys: dict[str, int] = {}
        self.expects_key = is_object


def _scan_json(text: str, name: str) -> tuple[dict[Loc, int], list[FileProblem]]:
    """The line of every place in a JSON document, and its duplicate keys; refuses nesting deeper
    than MAX_DEPTH and overlong numbers. Stops quietly on malformed input (the parser reports it)."""
    lines: dict[Loc, int] = {}
    duplicates: list[FileProblem] = []
    stack: list[_Frame] = []
    line, last = 1, 0

    def here() -> Loc:
        if not stack:
            return ()
        top = stack[-1]
        return (*top.loc, top.key if top.is_object else top.index)  # type: ignore[misc]

    for match in _JSON_TOKEN.finditer(text):
        token, start = match.group(), match.start()
        line += text.count("\n", last, start)
        last = start
        top = stack[-1] if stack else None
        if top is not None and top.expects_key and token not in ",:}" and not token.startswith('"'):
            break  # a value where a key belongs: malformed, and json.loads says where
        if token in "{[":
            loc = here()
            lines[loc] = line
            stack.append(_Frame(loc, token == "{"))
            if len(stack) > MAX_DEPTH:
                raise _refuse(name, f"nested more than {MAX_DEPTH} levels deep", line)
        elif token in "}]":
            if top is None:
                break
            stack.pop()
        elif token == ",":
            if top is None:
                break
            top.index += 1
            top.expects_key = top.is_object
        elif token == ":":
            if top is None:
                break
            top.expects_key = False
        elif top is not None and top.expects_key and token.startswith('"'):
            try:
                key = json.loads(token)
            except ValueError:
                break
            if key in top.keys:
                duplicates.append(FileProblem(
                    file=name, line=line, loc=(*top.loc, key),
                    message=f"duplicate key {_shown(key)} (first on line {top.keys[key]}): keep one"))
            else:
                top.keys[key] = line
            top.key = key
        else:
            if not token.startswith('"') and len(token) > MAX_NUMBER_CHARS:
                raise _refuse(name, f"a number of {len(token)} characters", line)
            lines[here()] = line
    return lines, duplicates


def _parse_json(text: str, name: str) -> tuple[Any, dict[Loc, int], list[FileProblem]]:
    lines, duplicates = _scan_json(text, name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refuse(name, f"not valid JSON: {exc.msg}", exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise _refuse(name, f"not valid JSON: {exc}") from None
    return data, lines, duplicates


def _values_problems(value: Any, loc: Loc, lines: dict[Loc, int], name: str,
                     found: list[FileProblem]) -> None:
    """NaN and infinities (which no field may hold and no store keeps), and text that is not Unicode."""
    problem = None
    if isinstance(value, float) and not math.isfinite(value):
        problem = f"{value} is not a number a network file may hold (NaN and infinities are refused)"
    elif isinstance(value, str) and _SURROGATE.search(value):
        problem = "the text holds a lone surrogate (\\ud800-\\udfff): it is not valid Unicode"
    elif isinstance(value, dict):
        for key, item in value.items():
            _values_problems(key, (*loc, key), lines, name, found)
            _values_problems(item, (*loc, key), lines, name, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _values_problems(item, (*loc, i), lines, name, found)
    if problem:
        found.append(FileProblem(file=name, line=_line(lines, loc), loc=loc, message=problem))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _line_at(text: str, position: int | None) -> int | None:
    return None if position is None else text.count("\n", 0, position) + 1


def parse_text(text: str, name: str) -> tuple[Any, dict[Loc, int]]:
    """The data in a YAML or JSON document and the line of every location in it.

    Refused, with the line where known: aliases, duplicate keys, nesting deeper than MAX_DEPTH,
    overlong numbers, NaN and infinities, lone surrogates. A leading byte-order mark is skipped.
    """
    text = text.removeprefix(BOM)
    data, lines, found = (_parse_json if name.endswith(".json") else _parse_yaml)(text, name)
    _values_problems(data, (), lines, name, found)
    if found:
        raise NetworkFileError(sorted(found, key=lambda p: p.line or 0))
    return data, lines


def _line(lines: dict[Loc, int], loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def validate_data(data: Any, name: str, lines: dict[Loc, int], as_of: date | None) -> Network:
    """The network in `data`, or NetworkFileError with every structural or cross-reference problem."""
    network, problems = examine_data(data, name, lines, as_of)
    if problems or network is None:
        raise NetworkFileError(problems)
    return network


def examine_data(data: Any, name: str, lines: dict[Loc, int],
                 as_of: date | None) -> tuple[Network | None, list[FileProblem]]:
    """The network in `data` (None when its structure is broken) and every structural and
    cross-reference problem in it.

    When the structure is broken, the cross-references are still checked, on the network without
    the entries that failed: a field left out where it may be, else the list entry holding it. A
    reference to a left-out entry is not reported (its entry's own problem is)."""
    if not isinstance(data, dict):
        return None, [FileProblem(file=name, line=1, loc=(), kind=STRUCTURE,
                                  message="a network file holds one mapping (the network)")]
    try:
        network: Network | None = Network.model_validate(data)
        checked, structure = network, []
        left_out: set[str] = set()
        in_file: dict[Loc, list[int]] = {}
    except ValidationError as exc:
        network = None
        structure = [FileProblem(file=name, line=_line(lines, loc), loc=loc, kind=STRUCTURE,
                                 message=_message(err))
                     for err in exc.errors(include_url=False) for loc in [_error_loc(err)]]
        checked, left_out, in_file = _salvage(data, exc)
    references = []
    if checked is not None:
        for p in check_network(checked, as_of):
            if any(repr(i) in p.message for i in left_out):
                continue
            loc = _unsorted(checked, data, p.loc, _file_loc(p.loc, in_file))
            references.append(FileProblem(file=name, line=_line(lines, loc), loc=loc, kind=REFERENCE,
                                          message=p.message))
    return network, structure + references


def _unsorted(network: Network, data: dict[str, Any], model_loc: Loc, loc: Loc) -> Loc:
    """The model keeps a session's attendees sorted (a set); the file has its own order."""
    if len(model_loc) == 4 and model_loc[0] == "training_sessions" and model_loc[2] == "attendees":
        session, index = model_loc[1], model_loc[3]
        assert isinstance(session, int) and isinstance(index, int)
        attendee = network.training_sessions[session].attendees[index]
        in_file = _at(data, loc[:3])
        if isinstance(in_file, list) and attendee in in_file:
            return (*loc[:3], in_file.index(attendee))
    return loc


def _error_loc(err: Any) -> Loc:
    """Where pydantic places an error, without its validator names and dict-key markers."""
    return tuple(p for p in err["loc"]
                 if not (isinstance(p, str) and (p.startswith("function-") or p == "[key]")))


def _salvage(data: dict[str, Any], error: ValidationError
             ) -> tuple[Network | None, set[str], dict[Loc, list[int]]]:
    """The network without what failed validation, the ids left out with it, and for each list that
    lost entries the file's indices of those it kept. None when a required part of the network
    itself failed."""
    drops: set[Loc] = set()
    kept: dict[Loc, list[int]] = {}
    for _ in range(SALVAGE_ROUNDS):
        for err in error.errors(include_url=False):
            target = _drop_target(data, _file_loc(_error_loc(err), kept), err["type"], drops)
            if target is None:
                return None, set(), {}
            drops.add(target)
        pruned, kept = _without(data, drops, ())
        try:
            network = Network.model_validate(pruned)
        except ValidationError as exc:
            error = exc
            continue
        return network, {i for loc in drops for i in _ids_in(_at(data, loc))}, kept
    return None, set(), {}


_MISSING = object()


def _at(data: Any, loc: Loc) -> Any:
    for part in loc:
        there = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data))
        if not there:
            return _MISSING
        data = data[part]
    return data


def _drop_target(data: Any, loc: Loc, error_type: str, drops: set[Loc]) -> Loc | None:
    """What to leave out for an error at `loc`: the field itself when it is there and was not left
    out before (it may be optional), else the innermost list entry holding it."""
    if loc and error_type != "missing" and loc not in drops and _at(data, loc) is not _MISSING:
        return loc
    for end in range(len(loc), 0, -1):
        if isinstance(loc[end - 1], int) and isinstance(_at(data, loc[:end - 1]), list):
            return loc[:end]
    return None


def _without(value: Any, drops: set[Loc], loc: Loc) -> tuple[Any, dict[Loc, list[int]]]:
    kept: dict[Loc, list[int]] = {}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if (*loc, key) not in drops:
                out[key], inner = _without(item, drops, (*loc, key))
                kept.update(inner)
        return out, kept
    if isinstance(value, list):
        indices = [i for i in range(len(value)) if (*loc, i) not in drops]
        if len(indices) < len(value):
            kept[loc] = indices
        items = []
        for i in indices:
            item, inner = _without(value[i], drops, (*loc, i))
            items.append(item)
            kept.update(inner)
        return items, kept
    return value, kept


def _file_loc(loc: Loc, kept: dict[Loc, list[int]]) -> Loc:
    """A place in the network without its left-out entries, as a place in the file."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int) and tuple(out) in kept and part < len(kept[tuple(out)]):
            part = kept[tuple(out)][part]
        out.append(part)
    return tuple(out)


def _ids_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {i for key, item in value.items()
                for i in (_ids_in(item) if isinstance(item, dict | list) else
                          {item} if key == "id" and isinstance(item, str) else set())}
    if isinstance(value, list):
        return {i for item in value if isinstance(item, dict) for i in _ids_in(item)}
    return set()


def gate_problems(network: Network, name: str, lines: dict[Loc, int], as_of: date) -> list[FileProblem]:
    """The requirements the certification gates find unmet on `as_of`, placed at their company."""
    policy = policy_for(network)
    places = {c.id: ("companies", i) for i, c in enumerate(network.companies)}
    problems = []
    for stage in CERTIFICATION_GATES:
        for check in evaluate_gate(stage, network, as_of, policy).blockers:
            loc: Loc = places.get(check.company or "", ())
            problems.append(FileProblem(file=name, line=_line(lines, loc) if loc else None, loc=loc,
                                        kind=GATE, message=f"{stage.value}: {check.line()}"))
    return problems


class FileExamination(BaseModel):
    """Everything `validate` finds in a network file."""

    network: Network | None
    problems: list[FileProblem]
    gates_previewed: bool = False

    def of_kind(self, *kinds: str) -> list[FileProblem]:
        return [p for p in self.problems if p.kind in kinds]


def examine_file(path: Path, as_of: date | None, preview_gates_on: date | None = None) -> FileExamination:
    """Every problem of a network file in one pass, each labelled by kind: what the loader refuses
    (file), what does not fit the format (structure), cross-references and dates (reference) and,
    with `preview_gates_on` and a structurally valid file, the certification gates' blockers (gate)."""
    name = str(path)
    try:
        data, lines = parse_text(read_text(path), name)
    except NetworkFileError as exc:
        return FileExamination(network=None, problems=exc.problems)
    network, problems = examine_data(data, name, lines, as_of)
    if network is None or preview_gates_on is None:
        return FileExamination(network=network, problems=problems)
    return FileExamination(network=network, gates_previewed=True,
                           problems=problems + gate_problems(network, name, lines, preview_gates_on))


def _shown(value: Any) -> str:
    """A value as a problem quotes it: cut short when long."""
    if isinstance(value, str) and len(value) > MAX_SHOWN_VALUE:
        return f"{value[:MAX_SHOWN_VALUE]!r}… ({len(value)} characters)"
    return repr(value)


def _message(err: dict[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in {"missing", "extra_forbidden"}:
        return msg.lower()
    value = err.get("input")
    if isinstance(value, str | int | float) and err["type"] not in {"missing"}:
        return f"{msg} (got {_shown(value)})"
    return msg


def read_network(path: Path, as_of: date | None = None) -> Network:
    """Read and validate a network file; NetworkFileError lists every problem, with lines.

    Files larger than HACKEFORS_MAX_FILE_MB are refused before they are read."""
    name = str(path)
    data, lines = parse_text(read_text(path), name)
    return validate_data(data, name, lines, as_of)


def read_text(path: Path) -> str:
    """A network file's text: at most the size limit, UTF-8 with or without a byte-order mark."""
    name = str(path)
    limit = int(get_settings().max_file_mb * 1024 * 1024)
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > limit:
                raise _refuse(name, f"the file has {size / 1024 / 1024:.1f} MB, more than the limit of "
                                    f"{get_settings().max_file_mb:g} MB (HACKEFORS_MAX_FILE_MB)")
            raw = file.read(limit + 1)  # a file that grows (or a pipe) stops at the limit too
    except FileNotFoundError:
        raise _refuse(name, "no such file") from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise _refuse(name, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise _refuse(name, f"the file is larger than the limit of {get_settings().max_file_mb:g} MB "
                            "(HACKEFORS_MAX_FILE_MB)")
    try:
        return raw.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _refuse(name, f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded", line) from None


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


# The starter network `hackefors init` writes passes every certification gate on this day.
STARTER_READY_ON = date(2026, 3, 2)


def starter_network(network_id: str, file_name: str) -> str:
    """A commented network file of three companies that certifies as of STARTER_READY_ON."""
    from adapters.rendering import render

    return render("starter-network.yaml.j2", network_id=network_id, file_name=file_name,
                  ready_on=STARTER_READY_ON.isoformat())
