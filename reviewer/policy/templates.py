"""Text templates for rationales and replies, filled from the case they are about.

Templates live in ``resources/templates/<kind>/*.txt`` (kind ``rationale`` or
``responses``). A file starts with optional header lines, then the text::

    # title: Removed: matches the policy
    # actions: remove, disable_account
    # policies: *
    # channels: *

    {external_ref} matches {policy_code} ({policy_name}) ...

Placeholders are ``{name}`` with a name from `PLACEHOLDERS`; ``{{`` and ``}}`` stand for
literal braces. Filling is a single pass of a strict substitution over that whitelist, never
``str.format``: a case's text can hold braces, format specifiers such as ``{0.__class__}``,
control or bidirectional characters, or megabytes of text, and none of it is interpreted.
Each value is flattened to one line, shortened, stripped of bidirectional controls, and, if
it contains right-to-left script, isolated (U+2068 … U+2069) so that it cannot reorder the
text around it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reviewer.policy.source_file import SourceFileError
from reviewer.policy.taxonomy import Policy
from reviewer.resources import RESOURCES
from reviewer.store.models import Case
from reviewer.vocabulary import Action, Channel, Surface

PLACEHOLDERS: dict[str, str] = {
    "external_ref": "the case's reference (e.g. RPT-2026000042)",
    "policy_code": "the chosen policy's code (e.g. HS-1)",
    "policy_name": "the chosen policy's name",
    "action": "the chosen action, as reviewers read it",
    "surface": "where the content appeared (Organic post, Ad, …)",
    "channel": "how the case came in (User report, Press, Regulator, …)",
    "reported_at": "when it was reported, UTC (2026-11-16 09:00 UTC)",
    "language": "the content's language code",
    "region": "the reporter's region code",
    "reported_excerpt": "the start of the reported text",
    "reviewer_name": "the name of the person writing",
    "today": "today's date, UTC (2026-11-16)",
}
"""Every placeholder a template may use, with what it is filled with."""

KINDS = ("rationale", "responses")
MAX_VALUE_CHARS = 200
MAX_EXCERPT_CHARS = 160
HEADER_KEYS = ("title", "policies", "actions", "channels")

_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_]+)\}|[{}]")
_HEADER = re.compile(r"^#\s*([a-z_]+)\s*:\s*(.*?)\s*$")
_BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))
_ISOLATE_START, _ISOLATE_END = "\u2068", "\u2069"


class TemplateError(SourceFileError):
    """A template file is malformed."""


@dataclass(frozen=True)
class Template:
    """One template. An empty `policies`/`actions`/`channels` means it fits any."""

    id: str
    kind: str
    title: str
    body: str
    policies: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    source: str = ""

    def fits(self, *, policy_code: str | None = None, action: str | None = None,
             channel: str | None = None) -> bool:
        return all(
            not allowed or value is None or value in allowed
            for allowed, value in ((self.policies, policy_code), (self.actions, action),
                                   (self.channels, channel))
        )


def default_templates_dir() -> Path:
    return RESOURCES / "templates"


def load_templates(kind: str, directory: Path | None = None) -> list[Template]:
    """Every template of `kind` ("rationale" or "responses"), sorted by id; validated."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of template {kind!r}; one of {', '.join(KINDS)}")
    folder = (directory or default_templates_dir()) / kind
    if not folder.is_dir():
        return []
    return [parse_template(path.read_text(encoding="utf-8"), path.stem, kind, str(path))
            for path in sorted(folder.glob("*.txt"))]


def parse_template(text: str, template_id: str, kind: str, source: str = "") -> Template:
    """Read one template's text; raises TemplateError naming the line of a mistake."""
    source = source or template_id
    lines = text.splitlines()
    header: dict[str, str] = {}
    index = 0
    while index < len(lines) and lines[index].startswith("#"):
        match = _HEADER.match(lines[index])
        if match is None:
            raise TemplateError(source, index + 1, "a header line reads '# key: value'")
        key, value = match.groups()
        if key not in HEADER_KEYS:
            raise TemplateError(source, index + 1,
                                f"unknown header '{key}'; valid: {', '.join(HEADER_KEYS)}")
        header[key] = value
        index += 1
    while index < len(lines) and not lines[index].strip():
        index += 1
    body_start = index + 1
    body = "\n".join(lines[index:]).strip("\n")
    if not body.strip():
        raise TemplateError(source, max(1, len(header)), "the template has no text")
    check_placeholders(body, source, body_start)
    actions = _listed(header.get("actions", ""))
    channels = _listed(header.get("channels", ""))
    for value, kind_name, valid in ((actions, "action", {a.value for a in Action}),
                                    (channels, "channel", {c.value for c in Channel})):
        unknown = [v for v in value if v not in valid]
        if unknown:
            line = 1 + list(header).index(kind_name + "s")
            raise TemplateError(source, line, f"unknown {kind_name} '{unknown[0]}'")
    return Template(
        id=template_id, kind=kind, title=header.get("title") or template_id, body=body,
        policies=_listed(header.get("policies", "")), actions=actions, channels=channels,
        source=source,
    )


def _listed(value: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    return () if items in ((), ("*",)) else items


def check_placeholders(text: str, source: str = "template", first_line: int = 1) -> None:
    """Refuse unknown placeholders and stray braces (write ``{{``/``}}`` for a brace)."""
    for match in _TOKEN.finditer(text):
        token, name = match.group(0), match.group(1)
        line = first_line + text.count("\n", 0, match.start())
        if name is not None and name not in PLACEHOLDERS:
            raise TemplateError(source, line, f"unknown placeholder {token}; known: "
                                + ", ".join("{" + key + "}" for key in PLACEHOLDERS))
        if name is None and token in "{}":
            raise TemplateError(source, line,
                                f"a lone '{token}': write '{token * 2}' for a literal brace")


def fill(text: str, values: Mapping[str, str]) -> str:
    """Substitute the placeholders in `text`, in one pass, with already safe `values`.

    A placeholder with no value, or a lone brace, is left as written; nothing that comes
    from a value is ever read as a placeholder.
    """
    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if name is not None and name in values:
            return values[name]
        return token

    return _TOKEN.sub(replace, text)


def safe_value(text: object, limit: int = MAX_VALUE_CHARS) -> str:
    """A value fit to be placed in running text: one line, short, bidi-contained."""
    value = str(text)[: limit * 4]
    value = value.translate(_BIDI_CONTROLS)
    value = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in value
        if unicodedata.category(ch) != "Cs"
    )
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    if any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in value):
        value = _ISOLATE_START + value + _ISOLATE_END
    return value


def _label(enum: type[Surface] | type[Channel] | type[Action], value: str) -> str:
    try:
        return enum(value).label
    except ValueError:
        return value


def case_values(
    case: Case,
    *,
    now: datetime,
    policy: Policy | None = None,
    action: str | None = None,
    reviewer_name: str | None = None,
) -> dict[str, str]:
    """The placeholder values for a case, each made safe with `safe_value`."""
    raw = {
        "external_ref": case.external_ref,
        "surface": _label(Surface, case.surface),
        "channel": _label(Channel, case.channel),
        "reported_at": f"{case.reported_at:%Y-%m-%d %H:%M} UTC",
        "language": case.language,
        "region": case.region,
        "today": f"{now:%Y-%m-%d}",
    }
    values = {key: safe_value(value) for key, value in raw.items()}
    values["reported_excerpt"] = safe_value(case.reported_text or "", MAX_EXCERPT_CHARS)
    if policy is not None:
        values["policy_code"] = safe_value(policy.code)
        values["policy_name"] = safe_value(policy.name)
    if action:
        values["action"] = safe_value(_label(Action, action))
    if reviewer_name:
        values["reviewer_name"] = safe_value(reviewer_name)
    return values


def render(template: Template, case: Case, *, now: datetime, policy: Policy | None = None,
           action: str | None = None, reviewer_name: str | None = None) -> str:
    """The template's text filled from the case, ready for the reviewer to edit."""
    return fill(template.body, case_values(case, now=now, policy=policy, action=action,
                                           reviewer_name=reviewer_name))


def templates_for(templates: Sequence[Template], *, policy_code: str | None = None,
                  action: str | None = None, channel: str | None = None) -> list[Template]:
    """The templates that fit a policy, action and channel (unset ones are not checked)."""
    return [t for t in templates
            if t.fits(policy_code=policy_code, action=action, channel=channel)]
