"""The policy taxonomy: which policies a case can be decided against, on which surfaces, with
which actions, and which of those actions need a second reviewer.

It is read from `resources/policies.toml`, a file policy leads edit by hand; a mistake in it
is reported as `file:line: problem` so that it can be fixed without reading this code.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from reviewer.policy.source_file import SourceFileError
from reviewer.resources import RESOURCES
from reviewer.vocabulary import Action, Surface

_E = TypeVar("_E", bound=StrEnum)

SEVERITY_MIN = 1
SEVERITY_MAX = 5

# Every policy must let a reviewer clear a case or hand it on.
ALWAYS_ALLOWED_ACTIONS = (Action.NO_VIOLATION, Action.ESCALATE)


class BlurPreset(StrEnum):
    """How strongly the viewer blurs unrevealed media in an area's queues."""

    STRONG = "strong"
    STANDARD = "standard"
    NONE = "none"


class TaxonomyError(SourceFileError):
    """The taxonomy file is missing or malformed."""


@dataclass(frozen=True)
class Policy:
    code: str
    area_code: str
    name: str
    definition: str
    severity: int
    actions: tuple[Action, ...]
    surfaces: tuple[Surface, ...]
    second_review_actions: tuple[Action, ...]

    def allows(self, action: Action | str) -> bool:
        return action in self.actions

    def applies_to(self, surface: Surface | str) -> bool:
        return surface in self.surfaces


@dataclass(frozen=True)
class PolicyArea:
    code: str
    name: str
    description: str
    blur_preset: BlurPreset
    graphic: bool
    never_offline: bool
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: str
    areas: tuple[PolicyArea, ...]
    source: str
    severe_actions: tuple[Action, ...] = ()
    _areas_by_code: dict[str, PolicyArea] = field(init=False, repr=False, compare=False)
    _policies_by_code: dict[str, Policy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_areas_by_code", {a.code: a for a in self.areas})
        object.__setattr__(
            self, "_policies_by_code", {p.code: p for a in self.areas for p in a.policies}
        )

    def area(self, code: str) -> PolicyArea:
        try:
            return self._areas_by_code[code]
        except KeyError:
            raise KeyError(f"unknown policy area {code!r}") from None

    def area_codes(self) -> tuple[str, ...]:
        return tuple(area.code for area in self.areas)

    def policy(self, code: str) -> Policy:
        try:
            return self._policies_by_code[code]
        except KeyError:
            raise KeyError(f"unknown policy code {code!r}") from None

    def policies(self) -> tuple[Policy, ...]:
        """Every policy, in file order."""
        return tuple(self._policies_by_code.values())

    def policies_for_surface(self, surface: Surface | str) -> list[Policy]:
        """The policies a case on `surface` can be decided against, in file order."""
        surface = Surface(surface)
        return [policy for policy in self._policies_by_code.values() if surface in policy.surfaces]

    def allowed_actions(self, policy_code: str) -> tuple[Action, ...]:
        """The actions a reviewer may take under the policy, in the order of `Action`."""
        return self.policy(policy_code).actions

    def requires_second_review(self, policy_code: str, action: Action | str) -> bool:
        """Whether `action` under the policy waits for four-eyes approval.

        An action the policy does not allow cannot be taken at all, so it is never reported as
        needing a second review; check `allowed_actions` first.
        """
        return Action(action) in self.policy(policy_code).second_review_actions


def default_taxonomy_path() -> Path:
    return RESOURCES / "policies.toml"


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and validate the taxonomy file (the shipped one unless `path` is given)."""
    path = default_taxonomy_path() if path is None else Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaxonomyError(source, 0, "file not found") from None
    except UnicodeDecodeError as exc:
        raise TaxonomyError(source, 0, f"file is not valid UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise TaxonomyError(source, 0, f"cannot read file: {exc.strerror}") from None
    return parse_taxonomy(text, source)


def parse_taxonomy(text: str, source: str) -> Taxonomy:
    """Validate taxonomy TOML `text`; `source` names it in errors (usually the file path)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, text, source) from None
    return _TaxonomyReader(text, source).read(data)


_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> TaxonomyError:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match is None:
        return TaxonomyError(source, 1, f"TOML syntax error: {message}")
    reason = message[: match.start()]
    if match.group(1) is None:
        line = max(1, len(text.splitlines()))
        return TaxonomyError(source, line, f"TOML syntax error: {reason} at end of file")
    line, column = int(match.group(1)), int(match.group(2))
    return TaxonomyError(source, line, f"TOML syntax error: {reason} (column {column})")


# --- Finding the line a human should look at ----------------------------------------------

_ARRAY_TABLE_HEADER = re.compile(r"^\s*\[\[\s*([^\]]*?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]")
_KEY_LINE = re.compile(r"""^\s*([A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=""")


@dataclass
class _Block:
    """One table in the source: where its header is, and where each of its keys is set."""

    header_line: int
    keys: dict[str, int] = field(default_factory=dict)
    end_line: int = 0
    policies: list[_Block] = field(default_factory=list)


class _SourceMap:
    """Line numbers of the `[[areas]]` / `[[areas.policies]]` tables and their keys.

    tomllib gives no positions for valid documents, so this scans the text for the usual
    layout of the file; anything it cannot place falls back to the enclosing table.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.top = _Block(header_line=1)
        self.areas: list[_Block] = []
        self._scan()

    def _scan(self) -> None:
        current: _Block | None = self.top
        depth, multiline = 0, None
        for number, line in enumerate(self.lines, start=1):
            at_statement_start = depth == 0 and multiline is None
            depth, multiline = _lex_line(line, depth, multiline)
            if not at_statement_start:
                continue
            header = _ARRAY_TABLE_HEADER.match(line) or _TABLE_HEADER.match(line)
            if header is not None:
                if current is not None:
                    current.end_line = number - 1
                name = re.sub(r"""[\s"']""", "", header.group(1))
                current = self._open_table(name, line.lstrip().startswith("[["), number)
                continue
            key = _KEY_LINE.match(line)
            if key is not None and current is not None:
                current.keys.setdefault(key.group(1).strip("\"'"), number)
        if current is not None:
            current.end_line = len(self.lines)

    def _open_table(self, name: str, is_array: bool, number: int) -> _Block | None:
        if is_array and name == "areas":
            self.areas.append(_Block(header_line=number))
            return self.areas[-1]
        if is_array and name == "areas.policies" and self.areas:
            self.areas[-1].policies.append(_Block(header_line=number))
            return self.areas[-1].policies[-1]
        # Some other table, e.g. a misspelt [[area]]: its keys belong to nothing we read, but
        # an error about the table itself should point at its header.
        self.top.keys.setdefault(name.split(".")[0], number)
        return None

    def line(
        self,
        area: int | None = None,
        policy: int | None = None,
        key: str | None = None,
        value: str | None = None,
    ) -> int:
        if area is not None and area >= len(self.areas):
            # Areas written inline rather than as [[areas]] tables.
            return self.top.keys.get("areas", 1)
        if area is not None and policy is not None and policy >= len(self.areas[area].policies):
            area_block = self.areas[area]
            return area_block.keys.get("policies", area_block.header_line)
        block = self._block(area, policy)
        if key is None:
            return block.header_line
        if key not in block.keys:
            if block is self.top and key == "areas" and self.areas:
                return self.areas[0].header_line
            return block.header_line
        start = block.keys[key]
        if value is None:
            return start
        later_keys = [n for n in block.keys.values() if n > start]
        end = min([*later_keys, block.end_line + 1]) - 1
        quoted = (f'"{value}"', f"'{value}'")
        for number in range(start, max(start, end) + 1):
            if any(q in self.lines[number - 1] for q in quoted):
                return number
        return start

    def _block(self, area: int | None, policy: int | None) -> _Block:
        if area is None or area >= len(self.areas):
            return self.top
        area_block = self.areas[area]
        if policy is None or policy >= len(area_block.policies):
            return area_block
        return area_block.policies[policy]


def _lex_line(line: str, depth: int, multiline: str | None) -> tuple[int, str | None]:
    """Carry bracket depth and an open multi-line string across one line, skipping strings
    and comments, so that lines inside a value are never taken for keys or headers."""
    i = 0
    while i < len(line):
        if multiline is not None:
            end = line.find(multiline, i)
            if end < 0:
                return depth, multiline
            i, multiline = end + 3, None
            continue
        char = line[i]
        if char == "#":
            break
        if line.startswith(('"""', "'''"), i):
            multiline, i = line[i : i + 3], i + 3
            continue
        if char == '"':
            i += 1
            while i < len(line) and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if char == "'":
            end = line.find("'", i + 1)
            i = len(line) if end < 0 else end + 1
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return depth, multiline


# --- Validation ---------------------------------------------------------------------------

_TOP_KEYS = ("version", "severe_actions", "areas")
_AREA_KEYS = ("code", "name", "description", "blur_preset", "graphic", "never_offline", "policies")
_POLICY_KEYS = (
    "code",
    "name",
    "definition",
    "severity",
    "actions",
    "surfaces",
    "second_review_actions",
)

_TOML_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean (true or false)",
    list: "an array",
    dict: "a table",
    float: "a float",
}


def _toml_type_name(value: Any) -> str:
    for kind in (bool, str, int, float, list, dict):
        if isinstance(value, kind):
            return _TOML_TYPE_NAMES[kind]
    return type(value).__name__


class _Where:
    """A place in the document: which area and policy, and how to name it in a message."""

    def __init__(self, label: str, area: int | None = None, policy: int | None = None) -> None:
        self.label = label
        self.area = area
        self.policy = policy


class _TaxonomyReader:
    def __init__(self, text: str, source: str) -> None:
        self._source = source
        self._map = _SourceMap(text)
        self._area_lines: dict[str, int] = {}
        self._policy_lines: dict[str, int] = {}

    def _fail(
        self, where: _Where, problem: str, key: str | None = None, value: str | None = None
    ) -> NoReturn:
        line = self._map.line(where.area, where.policy, key, value)
        raise TaxonomyError(self._source, line, problem)

    def read(self, data: dict[str, Any]) -> Taxonomy:
        top = _Where("the file")
        self._check_keys(data, _TOP_KEYS, top)
        version = self._required(data, "version", str, top)
        severe_actions = self._enum_list(data, "severe_actions", Action, top)
        raw_areas = self._required(data, "areas", list, top)
        if not raw_areas:
            self._fail(top, "no policy areas: add at least one [[areas]] table", key="areas")
        areas: list[PolicyArea] = []
        for index, raw_area in enumerate(raw_areas):
            where = _Where(f"area #{index + 1}", area=index)
            if not isinstance(raw_area, dict):
                self._fail(
                    top,
                    f"'areas' must be an array of tables ([[areas]]), but area #{index + 1} is "
                    f"{_toml_type_name(raw_area)}",
                    key="areas",
                )
            areas.append(self._read_area(raw_area, where, severe_actions))
        return Taxonomy(
            version=version,
            areas=tuple(areas),
            source=self._source,
            severe_actions=severe_actions,
        )

    def _read_area(
        self, raw: dict[str, Any], where: _Where, severe_actions: tuple[Action, ...]
    ) -> PolicyArea:
        _name_by_code(where, raw, "area")
        self._check_keys(raw, _AREA_KEYS, where)
        code = self._code(raw, where, "area")
        line = self._map.line(where.area, None, "code")
        if code in self._area_lines:
            self._fail(
                where,
                f"duplicate area code '{code}' (first defined on line {self._area_lines[code]})",
                key="code",
            )
        self._area_lines[code] = line
        where.label = f"area '{code}'"
        name = self._text(raw, "name", where)
        description = self._text(raw, "description", where)
        preset_name = self._required(raw, "blur_preset", str, where)
        if preset_name not in {preset.value for preset in BlurPreset}:
            self._fail(
                where,
                f"unknown blur_preset '{preset_name}' in {where.label}; valid presets: "
                f"{_listing(BlurPreset)}",
                key="blur_preset",
            )
        graphic = self._required(raw, "graphic", bool, where)
        never_offline = self._required(raw, "never_offline", bool, where)
        raw_policies = raw.get("policies", [])
        if not isinstance(raw_policies, list):
            self._fail(
                where,
                f"'policies' in {where.label} must be an array of tables ([[areas.policies]]), "
                f"not {_toml_type_name(raw_policies)}",
                key="policies",
            )
        if not raw_policies:
            self._fail(
                where,
                f"{where.label} has no policies: add at least one [[areas.policies]] table",
                key="policies",
            )
        policies = []
        for index, raw_policy in enumerate(raw_policies):
            policy_where = _Where(
                f"policy #{index + 1} of {where.label}", area=where.area, policy=index
            )
            if not isinstance(raw_policy, dict):
                self._fail(
                    where,
                    f"'policies' in {where.label} must be an array of tables, but policy "
                    f"#{index + 1} is {_toml_type_name(raw_policy)}",
                    key="policies",
                )
            policies.append(self._read_policy(raw_policy, policy_where, code, severe_actions))
        return PolicyArea(
            code=code,
            name=name,
            description=description,
            blur_preset=BlurPreset(preset_name),
            graphic=graphic,
            never_offline=never_offline,
            policies=tuple(policies),
        )

    def _read_policy(
        self,
        raw: dict[str, Any],
        where: _Where,
        area_code: str,
        severe_actions: tuple[Action, ...],
    ) -> Policy:
        _name_by_code(where, raw, "policy")
        self._check_keys(raw, _POLICY_KEYS, where)
        code = self._code(raw, where, "policy")
        line = self._map.line(where.area, where.policy, "code")
        if code in self._policy_lines:
            self._fail(
                where,
                f"duplicate policy code '{code}' (first defined on line "
                f"{self._policy_lines[code]})",
                key="code",
            )
        self._policy_lines[code] = line
        where.label = f"policy '{code}'"
        name = self._text(raw, "name", where)
        definition = self._text(raw, "definition", where)
        severity = self._required(raw, "severity", int, where)
        if not SEVERITY_MIN <= severity <= SEVERITY_MAX:
            self._fail(
                where,
                f"severity {severity} of {where.label} is out of range: it must be from "
                f"{SEVERITY_MIN} to {SEVERITY_MAX}",
                key="severity",
            )
        actions = self._enum_list(raw, "actions", Action, where)
        missing = [a.value for a in ALWAYS_ALLOWED_ACTIONS if a not in actions]
        if missing:
            self._fail(
                where,
                f"actions of {where.label} must include {' and '.join(repr(a) for a in missing)}",
                key="actions",
            )
        surfaces = self._enum_list(raw, "surfaces", Surface, where)
        if not surfaces:
            self._fail(where, f"surfaces of {where.label} must not be empty", key="surfaces")
        second_review = self._enum_list(raw, "second_review_actions", Action, where)
        for action in second_review:
            if action not in actions:
                self._fail(
                    where,
                    f"second_review_actions of {where.label} lists '{action}', which is not in "
                    f"its actions ({', '.join(actions)})",
                    key="second_review_actions",
                    value=action.value,
                )
        for action in severe_actions:
            if action in actions and action not in second_review:
                self._fail(
                    where,
                    f"{where.label} allows '{action}', a severe action, so its "
                    f"second_review_actions must include it",
                    key="second_review_actions",
                )
        return Policy(
            code=code,
            area_code=area_code,
            name=name,
            definition=definition,
            severity=severity,
            actions=actions,
            surfaces=surfaces,
            second_review_actions=second_review,
        )

    # --- single values

    def _check_keys(self, raw: dict[str, Any], allowed: tuple[str, ...], where: _Where) -> None:
        for key in raw:
            if key not in allowed:
                self._fail(
                    where,
                    f"unknown key '{key}' in {where.label}; valid keys: {', '.join(allowed)}",
                    key=key,
                )

    def _required(self, raw: dict[str, Any], key: str, kind: type, where: _Where) -> Any:
        if key not in raw:
            self._fail(where, f"{where.label} is missing required key '{key}'")
        value = raw[key]
        wrong_bool = kind is int and isinstance(value, bool)
        if not isinstance(value, kind) or wrong_bool:
            self._fail(
                where,
                f"'{key}' in {where.label} must be {_TOML_TYPE_NAMES[kind]}, not "
                f"{_toml_type_name(value)}",
                key=key,
            )
        return value

    def _text(self, raw: dict[str, Any], key: str, where: _Where) -> str:
        value: str = self._required(raw, key, str, where)
        if not value.strip():
            self._fail(where, f"'{key}' in {where.label} must not be empty", key=key)
        return value.strip()

    def _code(self, raw: dict[str, Any], where: _Where, kind: str) -> str:
        code = self._text(raw, "code", where)
        if any(ch.isspace() for ch in code):
            self._fail(where, f"{kind} code '{code}' must not contain spaces", key="code")
        return code

    def _enum_list(
        self, raw: dict[str, Any], key: str, enum: type[_E], where: _Where
    ) -> tuple[_E, ...]:
        values = self._required(raw, key, list, where)
        kind = "action" if enum is Action else enum.__name__.lower()
        seen: set[_E] = set()
        for value in values:
            if not isinstance(value, str):
                self._fail(
                    where,
                    f"'{key}' in {where.label} must list {kind} names as strings, not "
                    f"{_toml_type_name(value)}",
                    key=key,
                )
            try:
                member = enum(value)
            except ValueError:
                self._fail(
                    where,
                    f"unknown {kind} '{value}' in '{key}' of {where.label}; valid {kind}s: "
                    f"{_listing(enum)}",
                    key=key,
                    value=value,
                )
            if member in seen:
                self._fail(
                    where,
                    f"'{key}' in {where.label} lists '{value}' twice",
                    key=key,
                    value=value,
                )
            seen.add(member)
        return tuple(member for member in enum if member in seen)


def _name_by_code(where: _Where, raw: dict[str, Any], kind: str) -> None:
    """Name a table by its code as early as possible: codes are what people search for."""
    code = raw.get("code")
    if isinstance(code, str) and code.strip():
        where.label = f"{kind} '{code.strip()}'"


def _listing(enum: Iterable[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)
