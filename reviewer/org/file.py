"""The organisation as a file: teams, queues, escalation teams and people, in TOML.

`read_org` parses and checks a file and returns an `Org`; every mistake is an `OrgError`
whose problems read ``org.toml:LINE: problem``, and a file with any problem gives no `Org`
at all (so nothing is ever half-applied). `render_org` writes an `Org` back in the same
format, the way ``reviewer-admin show-org`` prints a backend's organisation, so that
reading what it wrote gives the same `Org`. The format is described in
docs/administration.md and shown by resources/org.example.toml.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer.enforcement.escalation import escalation_team_code
from reviewer.policy.taxonomy import Taxonomy
from reviewer.vocabulary import Channel, EscalationTeam, Role

CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
USERNAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # as reviewer.security.row_security
ESCALATION_PREFIX = "escalation-"
MAX_FILE_BYTES = 10 * 1024 * 1024


escalation_code = escalation_team_code  # "second_level" -> "escalation-second-level"


@dataclass(frozen=True)
class TeamSpec:
    code: str
    name: str


@dataclass(frozen=True)
class QueueSpec:
    code: str
    name: str
    team: str
    policy_area: str
    sla_hours: float
    sla_hours_by_channel: Mapping[str, float]
    graphic: bool
    offline: bool
    languages: tuple[str, ...]
    language_routing: bool


@dataclass(frozen=True)
class EscalationSpec:
    team: EscalationTeam
    name: str
    queue_name: str
    sla_hours: float
    sla_hours_by_channel: Mapping[str, float]

    @property
    def code(self) -> str:
        return escalation_code(self.team)


@dataclass(frozen=True)
class PersonSpec:
    username: str
    name: str
    role: str
    teams: tuple[str, ...]
    languages: tuple[str, ...]


@dataclass(frozen=True)
class Org:
    teams: tuple[TeamSpec, ...]
    queues: tuple[QueueSpec, ...]
    escalations: tuple[EscalationSpec, ...]
    people: tuple[PersonSpec, ...]

    def normalised(self) -> Org:
        """The same organisation in a fixed order (the file's order means nothing)."""
        return Org(tuple(sorted(self.teams, key=lambda t: t.code)),
                   tuple(sorted(self.queues, key=lambda q: q.code)),
                   tuple(sorted(self.escalations, key=lambda e: e.team.value)),
                   tuple(sorted(self.people, key=lambda p: p.username)))

    def person(self, username: str) -> PersonSpec | None:
        return next((p for p in self.people if p.username == username), None)


ESCALATION_SLA_HOURS = 24.0


def default_escalation(team: EscalationTeam) -> EscalationSpec:
    """An escalation team the file does not describe: the product's defaults."""
    return EscalationSpec(team, f"{team.label} (escalations)", f"Escalations: {team.label}",
                          ESCALATION_SLA_HOURS, {})


class OrgError(ValueError):
    """The file has mistakes; ``problems`` are lines ``FILE:LINE: problem``, in file order."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:20]
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__("\n".join(shown) + more)


# -- where things are in the file -----------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


class _Lines:
    """Line numbers of the n-th ``[[kind]]`` block and of its keys (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.blocks: dict[str, list[tuple[int, dict[str, int]]]] = {}
        self.top: dict[str, int] = {}
        keys = self.top
        for number, line in enumerate(text.splitlines(), start=1):
            if match := _HEADER.match(line):
                keys = {}
                self.blocks.setdefault(match.group(1), []).append((number, keys))
            elif match := _TABLE.match(line):
                keys = {}
                self.top.setdefault(match.group(1), number)
            elif (match := _KEY.match(line)) and match.group(1) not in keys:
                keys[match.group(1)] = number

    def of(self, kind: str, index: int, key: str | None = None) -> int:
        blocks = self.blocks.get(kind, [])
        if index >= len(blocks):
            return self.top.get(kind, 1)
        start, keys = blocks[index]
        return keys.get(key, start) if key else start


# -- reading --------------------------------------------------------------------------------

_TEAM_KEYS = {"code", "name"}
_QUEUE_KEYS = {"code", "name", "team", "policy_area", "sla_hours", "sla_hours_by_channel",
               "graphic", "offline", "languages", "language_routing"}
_ESCALATION_KEYS = {"team", "name", "queue_name", "sla_hours", "sla_hours_by_channel"}
_PERSON_KEYS = {"username", "name", "role", "teams", "languages"}
_TOP_KEYS = {"team", "queue", "escalation_team", "person"}


class _Reader:
    def __init__(self, where: str, lines: _Lines, taxonomy: Taxonomy) -> None:
        self.where, self.lines, self.taxonomy = where, lines, taxonomy
        self.problems: list[tuple[int, str]] = []

    def problem(self, line: int, text: str) -> None:
        self.problems.append((line, text))

    def blocks(self, raw: dict[str, Any], kind: str, keys: set[str]) -> list[tuple[int, dict]]:
        value = raw.get(kind, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(self.lines.top.get(kind, 1),
                         f"'{kind}' must be a list of [[{kind}]] blocks")
            return []
        for index, block in enumerate(value):
            for key in sorted(set(block) - keys):
                self.problem(self.lines.of(kind, index, key),
                             f"unknown key '{key}' in [[{kind}]] (known: "
                             f"{', '.join(sorted(keys))})")
        return list(enumerate(value))

    def get(self, block: dict, kind: str, index: int, key: str, types: type | tuple[type, ...],
            what: str, *, default: Any = None, required: bool = True) -> Any:
        line = self.lines.of(kind, index, key)
        if key not in block:
            if required:
                self.problem(self.lines.of(kind, index), f"[[{kind}]] needs '{key}' ({what})")
            return default
        value = block[key]
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple)
                                                    else (types,)):
            self.problem(line, f"'{key}' must be {what}, not {value!r}")
            return default
        if not isinstance(value, types):
            self.problem(line, f"'{key}' must be {what}, not {value!r}")
            return default
        if isinstance(value, str):
            value = value.strip()
            if not value and required:
                self.problem(line, f"'{key}' must not be empty")
                return default
        return value

    def code(self, block: dict, kind: str, index: int, key: str = "code") -> str | None:
        value = self.get(block, kind, index, key, str, "a code such as \"graphic-content\"")
        if value is not None and not CODE_PATTERN.fullmatch(value):
            self.problem(self.lines.of(kind, index, key),
                         f"'{value}' is not a valid code: use up to 64 lower-case letters, "
                         "digits and dashes, starting with a letter or digit")
            return None
        return value

    def hours(self, block: dict, kind: str, index: int, key: str,
              default: float | None = None) -> float | None:
        value = self.get(block, kind, index, key, (int, float), "a number of hours",
                         default=default, required=default is None)
        if value is None:
            return None
        if not 0 < float(value) <= 24 * 365:
            self.problem(self.lines.of(kind, index, key),
                         f"'{key}' must be more than 0 and at most 8760 hours, not {value}")
            return None
        return float(value)

    def channel_hours(self, block: dict, kind: str, index: int) -> dict[str, float]:
        key = "sla_hours_by_channel"
        value = self.get(block, kind, index, key, dict,
                         "a table of channel = hours, e.g. { regulator = 2 }",
                         default={}, required=False)
        line = self.lines.of(kind, index, key)
        channels = {c.value for c in Channel}
        result: dict[str, float] = {}
        for channel, hours in (value or {}).items():
            if channel not in channels:
                self.problem(line, f"unknown channel '{channel}' in '{key}' (known: "
                                   f"{', '.join(sorted(channels))})")
            elif isinstance(hours, bool) or not isinstance(hours, (int, float)) \
                    or not 0 < float(hours) <= 24 * 365:
                self.problem(line, f"'{key}.{channel}' must be a number of hours above 0, "
                                   f"not {hours!r}")
            else:
                result[channel] = float(hours)
        return result

    def languages(self, block: dict, kind: str, index: int) -> tuple[str, ...]:
        value = self.get(block, kind, index, "languages", list,
                         "a list of language codes, e.g. [\"en\", \"pt-BR\"]", default=[],
                         required=False)
        line = self.lines.of(kind, index, "languages")
        result = []
        for language in value or []:
            if not isinstance(language, str) or not LANGUAGE_PATTERN.fullmatch(language):
                self.problem(line, f"{language!r} is not a language code (ISO 639, e.g. "
                                   "\"en\", \"pt-BR\")")
            elif language in result:
                self.problem(line, f"language '{language}' is listed twice")
            else:
                result.append(language)
        return tuple(result)

    def unique(self, kind: str, values: Iterable[tuple[int, str | None]], what: str,
               key: str) -> None:
        seen: dict[str, int] = {}
        for index, value in values:
            if value is None:
                continue
            if value in seen:
                self.problem(self.lines.of(kind, index, key),
                             f"{what} '{value}' is already used by the [[{kind}]] at line "
                             f"{self.lines.of(kind, seen[value])}")
            else:
                seen[value] = index

    def read(self, raw: dict[str, Any]) -> Org:
        for key in sorted(set(raw) - _TOP_KEYS):
            self.problem(self.lines.top.get(key, 1),
                         f"unknown section '{key}' (known: [[team]], [[queue]], "
                         "[[escalation_team]], [[person]])")
        teams = self._teams(raw)
        escalations = self._escalations(raw)
        queues = self._queues(raw, {t.code for t in teams})
        team_codes = {t.code for t in teams} | {escalation_code(t) for t in EscalationTeam}
        people = self._people(raw, team_codes)
        return Org(tuple(teams), tuple(queues), tuple(escalations), tuple(people))

    def _teams(self, raw: dict[str, Any]) -> list[TeamSpec]:
        teams, codes = [], []
        for index, block in self.blocks(raw, "team", _TEAM_KEYS):
            code = self.code(block, "team", index)
            name = self.get(block, "team", index, "name", str, "the team's name")
            if code is not None and code.startswith(ESCALATION_PREFIX):
                self.problem(self.lines.of("team", index, "code"),
                             f"team codes starting '{ESCALATION_PREFIX}' are the escalation "
                             "teams': describe those in [[escalation_team]] blocks")
                code = None
            codes.append((index, code))
            if code is not None and name is not None:
                teams.append(TeamSpec(code, name))
        self.unique("team", codes, "team code", "code")
        return teams

    def _queues(self, raw: dict[str, Any], teams: set[str]) -> list[QueueSpec]:
        queues, codes, names = [], [], []
        for index, block in self.blocks(raw, "queue", _QUEUE_KEYS):
            at = _line_of(self.lines.of, "queue", index)
            code = self.code(block, "queue", index)
            name = self.get(block, "queue", index, "name", str, "the queue's name")
            team = self.get(block, "queue", index, "team", str, "the code of a [[team]]")
            if team is not None and team not in teams:
                self.problem(at("team"), f"unknown team '{team}' (teams in this file: "
                                         f"{', '.join(sorted(teams)) or 'none'})")
                team = None
            area_code = self.get(block, "queue", index, "policy_area", str,
                                 "a policy area code of the taxonomy")
            area = None
            if area_code is not None:
                area = next((a for a in self.taxonomy.areas if a.code == area_code), None)
                if area is None:
                    self.problem(at("policy_area"), f"unknown policy area '{area_code}' "
                                 f"(known: {', '.join(a.code for a in self.taxonomy.areas)})")
            sla = self.hours(block, "queue", index, "sla_hours")
            by_channel = self.channel_hours(block, "queue", index)
            graphic = self.get(block, "queue", index, "graphic", bool, "true or false",
                               default=area.graphic if area else False, required=False)
            offline = self.get(block, "queue", index, "offline", bool, "true or false",
                               default=not area.never_offline if area else True,
                               required=False)
            if area is not None and area.never_offline and offline:
                self.problem(at("offline"), f"cases of policy area '{area.code}' are never "
                                            "taken offline: set offline = false")
            languages = self.languages(block, "queue", index)
            routing = self.get(block, "queue", index, "language_routing", bool,
                               "true or false", default=True, required=False)
            codes.append((index, code))
            names.append((index, name))
            if None not in (code, name, team, area, sla, graphic, offline, routing):
                queues.append(QueueSpec(code, name, team, area.code, sla, by_channel,
                                        graphic, offline, languages, routing))
        self.unique("queue", codes, "queue code", "code")
        self.unique("queue", names, "queue name", "name")
        return queues

    def _escalations(self, raw: dict[str, Any]) -> list[EscalationSpec]:
        given: dict[EscalationTeam, EscalationSpec] = {}
        known = [t.value for t in EscalationTeam]
        seen = []
        for index, block in self.blocks(raw, "escalation_team", _ESCALATION_KEYS):
            value = self.get(block, "escalation_team", index, "team", str,
                             f"one of {', '.join(known)}")
            if value is None:
                continue
            if value not in known:
                self.problem(self.lines.of("escalation_team", index, "team"),
                             f"unknown escalation team '{value}' (known: {', '.join(known)})")
                continue
            team = EscalationTeam(value)
            seen.append((index, value))
            default = default_escalation(team)
            name = self.get(block, "escalation_team", index, "name", str, "the team's name",
                            default=default.name, required=False)
            queue_name = self.get(block, "escalation_team", index, "queue_name", str,
                                  "the queue's name", default=default.queue_name,
                                  required=False)
            sla = self.hours(block, "escalation_team", index, "sla_hours",
                             default=default.sla_hours)
            by_channel = self.channel_hours(block, "escalation_team", index)
            if None not in (name, queue_name, sla):
                given[team] = EscalationSpec(team, name, queue_name, sla, by_channel)
        self.unique("escalation_team", seen, "escalation team", "team")
        # Every escalation team exists, described or not: escalations need their queues.
        return [given.get(team) or default_escalation(team) for team in EscalationTeam]

    def _people(self, raw: dict[str, Any], teams: set[str]) -> list[PersonSpec]:
        people, names = [], []
        roles = [r.value for r in Role]
        for index, block in self.blocks(raw, "person", _PERSON_KEYS):
            at = _line_of(self.lines.of, "person", index)
            username = self.get(block, "person", index, "username", str, "a user name")
            if username is not None and not USERNAME_PATTERN.fullmatch(username):
                self.problem(at("username"), f"'{username}' is not a valid user name: use 1 "
                             "to 63 lower-case letters, digits and underscores, not starting "
                             "with a digit")
                username = None
            name = self.get(block, "person", index, "name", str, "the name people see",
                            default=username, required=False)
            role = self.get(block, "person", index, "role", str, f"one of {', '.join(roles)}")
            if role is not None and role not in roles:
                self.problem(at("role"), f"unknown role '{role}' (known: {', '.join(roles)})")
                role = None
            member_of = self.get(block, "person", index, "teams", list,
                                 "a list of team codes", default=[], required=False)
            clean: list[str] = []
            for team in member_of or []:
                if not isinstance(team, str) or team not in teams:
                    self.problem(at("teams"), f"unknown team {team!r} (teams: "
                                              f"{', '.join(sorted(teams))})")
                elif team not in clean:
                    clean.append(team)
            if role not in (None, Role.ADMIN.value) and not member_of:
                self.problem(at("teams") if "teams" in block else at(),
                             f"{role} '{username}' needs at least one team in 'teams'")
            languages = self.languages(block, "person", index)
            names.append((index, username))
            if None not in (username, name, role):
                people.append(PersonSpec(username, name, role, tuple(sorted(clean)),
                                         languages))
        self.unique("person", names, "user name", "username")
        return people


def _line_of(function: Any, *bound: Any) -> Any:
    def at(key: str | None = None) -> int:
        return function(*bound, key)
    return at


def parse_org(text: str, taxonomy: Taxonomy, where: str = "org.toml") -> Org:
    """The organisation ``text`` describes; `OrgError` lists every mistake in it."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = match.group(1) if match else "1"
        raise OrgError([f"{where}:{line}: not valid TOML: "
                        f"{re.sub(r' [(]at line.*', '', message)}"]) from None
    lines = _Lines(text)
    reader = _Reader(where, lines, taxonomy)
    org = reader.read(raw)
    if reader.problems:
        raise OrgError([f"{where}:{line}: {text}"
                        for line, text in sorted(reader.problems, key=lambda p: p[0])])
    return org


def read_org(path: Path | str, taxonomy: Taxonomy) -> Org:
    """Read and check an organisation file; `OrgError` for a missing, huge or bad one."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise OrgError([f"{path.name}:1: the file is {size:,} bytes; an organisation "
                            f"file is at most {MAX_FILE_BYTES:,}"])
        data = path.read_bytes()
    except OSError as error:
        raise OrgError([f"{path}: cannot read it: {error.strerror or error}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise OrgError([f"{path.name}:{line}: not UTF-8 text"]) from None
    return parse_org(text, taxonomy, path.name)


# -- writing --------------------------------------------------------------------------------

def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in sorted(value.items())) + " }"
    raise TypeError(f"cannot write {value!r}")


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)

    def block(self, kind: str, pairs: list[tuple[str, Any]]) -> None:
        self.lines.append(f"[[{kind}]]")
        self.lines.extend(f"{key} = {_value(value)}" for key, value in pairs)
        self.lines.append("")


def render_org(org: Org, header: str = "") -> str:
    """The organisation as a file that `parse_org` reads back as the same `Org`."""
    out = _Writer()
    if header:
        out.lines.extend(f"# {line}".rstrip() for line in header.splitlines())
        out.lines.append("")
    for team in org.teams:
        out.block("team", [("code", team.code), ("name", team.name)])
    for queue in org.queues:
        pairs: list[tuple[str, Any]] = [
            ("code", queue.code), ("name", queue.name), ("team", queue.team),
            ("policy_area", queue.policy_area), ("sla_hours", queue.sla_hours)]
        if queue.sla_hours_by_channel:
            pairs.append(("sla_hours_by_channel", dict(queue.sla_hours_by_channel)))
        pairs += [("graphic", queue.graphic), ("offline", queue.offline),
                  ("languages", list(queue.languages)),
                  ("language_routing", queue.language_routing)]
        out.block("queue", pairs)
    for escalation in org.escalations:
        pairs = [("team", escalation.team.value), ("name", escalation.name),
                 ("queue_name", escalation.queue_name), ("sla_hours", escalation.sla_hours)]
        if escalation.sla_hours_by_channel:
            pairs.append(("sla_hours_by_channel", dict(escalation.sla_hours_by_channel)))
        out.block("escalation_team", pairs)
    for person in org.people:
        out.block("person", [("username", person.username), ("name", person.name),
                             ("role", person.role), ("teams", list(person.teams)),
                             ("languages", list(person.languages))])
    return "\n".join(out.lines).rstrip() + "\n"
