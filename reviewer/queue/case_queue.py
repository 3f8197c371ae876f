"""The case queue: priority, SLA state, filters, search and pages of rows.

Priority is a score a reviewer can check by hand::

    score = severity_weight × severity
          + channel weight (regulator, legal, press, partner and VIP outrank user reports)
          + reach_weight × log10(1 + reach)
          − hour_weight × hours left until the SLA is breached (negative once breached)

Because the time term is linear, ordering cases by score never changes as time passes,
so each case stores ``priority_key = hour_weight × due_hours − base`` (lower key, higher
score) and the queue sorts by an index at any size; the score shown is
``hour_weight × now_hours − priority_key``.

The UI never loads the whole queue: it asks for a page at a time after the last row it has
(keyset paging over one index per sortable column).
"""

from __future__ import annotations

import math
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from reviewer.settings import CoreSettings
from reviewer.store.models import Case, Note, Queue, Reviewer
from reviewer.vocabulary import CaseStatus, Channel

OPEN_STATUSES = (CaseStatus.NEW.value, CaseStatus.LEASED.value)
SECONDS_PER_HOUR = 3600.0


# -- SLA ------------------------------------------------------------------------------------


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"

    @property
    def label(self) -> str:
        return {"on_track": "On track", "at_risk": "At risk", "breached": "Breached"}[self.value]


AT_RISK_FRACTION = 0.25
"""A case is at risk once less than this share of its SLA window is left."""


def at_risk_from(reported_at: datetime, due_at: datetime) -> datetime:
    return due_at - (due_at - reported_at) * AT_RISK_FRACTION


def sla_state(reported_at: datetime, due_at: datetime, now: datetime) -> SlaState:
    if now >= due_at:
        return SlaState.BREACHED
    if now >= at_risk_from(reported_at, due_at):
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def format_time_left(seconds: float) -> str:
    """'2h 05m', '14m 09s', or '-1h 10m' once breached."""
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        return f"{sign}{hours // 24}d {hours % 24:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"


def format_age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


# -- priority -------------------------------------------------------------------------------

DEFAULT_CHANNEL_WEIGHTS: Mapping[str, float] = {
    Channel.REGULATOR.value: 30.0,
    Channel.LEGAL_REQUEST.value: 30.0,
    Channel.PRESS.value: 25.0,
    Channel.PARTNER.value: 20.0,
    Channel.VIP.value: 20.0,
    Channel.PROACTIVE_DETECTION.value: 5.0,
    Channel.USER_REPORT.value: 0.0,
}


@dataclass(frozen=True)
class PriorityWeights:
    severity: float = 10.0
    reach: float = 5.0
    per_hour: float = 2.0
    channels: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CHANNEL_WEIGHTS))

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> PriorityWeights:
        return cls(
            severity=settings.get("priority/severity_weight"),
            reach=settings.get("priority/reach_weight"),
            per_hour=settings.get("priority/hour_weight"),
            channels={
                channel.value: settings.get(f"priority/channel_{channel.value}")
                for channel in Channel
            },
        )


@dataclass(frozen=True)
class PriorityBreakdown:
    severity: int
    severity_points: float
    channel: str
    channel_points: float
    reach: int
    reach_points: float
    hours_left: float
    time_points: float

    @property
    def total(self) -> float:
        return self.severity_points + self.channel_points + self.reach_points + self.time_points

    def explain(self) -> str:
        try:
            channel = Channel(self.channel).label
        except ValueError:
            channel = self.channel
        when = (f"{self.hours_left:.1f} h left before the SLA is breached"
                if self.hours_left >= 0 else
                f"SLA breached {-self.hours_left:.1f} h ago")
        return "\n".join([
            f"Priority {self.total:.0f}, made of:",
            f"  severity {self.severity}: {self.severity_points:+.0f}",
            f"  channel {channel}: {self.channel_points:+.0f}",
            f"  reach {self.reach:,}: {self.reach_points:+.1f}",
            f"  {when}: {self.time_points:+.1f}",
        ])


def base_priority(severity: int, channel: str, reach: int, weights: PriorityWeights) -> float:
    return (
        weights.severity * severity
        + weights.channels.get(channel, 0.0)
        + weights.reach * math.log10(1 + max(reach, 0))
    )


def _hours(moment: datetime) -> float:
    return moment.timestamp() / SECONDS_PER_HOUR


def priority_key(severity: int, channel: str, reach: int, due_at: datetime,
                 weights: PriorityWeights) -> float:
    return weights.per_hour * _hours(due_at) - base_priority(severity, channel, reach, weights)


def priority_score(key: float, now: datetime, weights: PriorityWeights) -> float:
    return weights.per_hour * _hours(now) - key


def explain_priority(severity: int, channel: str, reach: int, due_at: datetime,
                     now: datetime, weights: PriorityWeights) -> PriorityBreakdown:
    hours_left = (due_at - now).total_seconds() / SECONDS_PER_HOUR
    return PriorityBreakdown(
        severity=severity,
        severity_points=weights.severity * severity,
        channel=channel,
        channel_points=weights.channels.get(channel, 0.0),
        reach=reach,
        reach_points=weights.reach * math.log10(1 + max(reach, 0)),
        hours_left=hours_left,
        time_points=-weights.per_hour * hours_left,
    )


def derive_queue_fields(row: dict[str, Any], weights: PriorityWeights) -> dict[str, Any]:
    """Fill a case row's stored priority key and at-risk time from its other fields."""
    row["priority_key"] = priority_key(
        row["severity"], row["channel"], row["reach"], row["due_at"], weights
    )
    row["at_risk_at"] = at_risk_from(row["reported_at"], row["due_at"])
    return row


def recompute_priorities(session: Session, weights: PriorityWeights,
                         batch: int = 20_000) -> int:
    """Apply new weights to every case (after the weights change in settings)."""
    cases = Case.__table__
    update = cases.update().where(cases.c.id == bindparam("case_id", type_=cases.c.id.type))
    done = 0
    last: uuid.UUID | None = None
    while True:
        statement = select(Case.id, Case.severity, Case.channel, Case.reach, Case.due_at)
        if last is not None:
            statement = statement.where(Case.id > last)
        rows = session.execute(statement.order_by(Case.id).limit(batch)).all()
        if not rows:
            return done
        session.execute(update, [
            {"case_id": r.id,
             "priority_key": priority_key(r.severity, r.channel, r.reach, r.due_at, weights)}
            for r in rows
        ])
        done += len(rows)
        last = rows[-1].id


# -- filters and search ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer narrowed the queue to; an empty field does not filter."""

    queue_ids: tuple[uuid.UUID, ...] = ()
    channels: tuple[str, ...] = ()
    surfaces: tuple[str, ...] = ()
    policy_areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    statuses: tuple[str, ...] = OPEN_STATUSES
    sla_states: tuple[SlaState, ...] = ()
    mine_only: bool = False
    search: str = ""

    def is_default(self) -> bool:
        return self == QueueFilter()

    def cleared(self) -> QueueFilter:
        return QueueFilter()

    def with_changes(self, **changes: Any) -> QueueFilter:
        return replace(self, **changes)


MAX_SEARCH_TERMS = 32

_case_text = table("case_text", column("rowid"))
_note_text = table("note_text", column("rowid"))
_notes = table("note", column("rowid"), column("case_id"))

MANY_HITS = 5_000
"""Above this many search hits a page is found faster by walking the sort index and
testing each case for membership than by looking each hit up and sorting them all."""


def _search_hits(session: Session, match: str) -> int:
    """How many case texts and notes match (a couple of milliseconds even at a million)."""
    return sum(
        session.scalar(text(f"SELECT count(*) FROM {index} WHERE {index} MATCH :terms")
                       .bindparams(terms=match)) or 0
        for index in ("case_text", "note_text")
    )


@dataclass(frozen=True)
class SearchTerms:
    """A search text as the replica looks it up: its words as an FTS5 query (`fts_query`),
    and the runs of symbols in them (emoji, currency and math signs) that the search index
    leaves out of its words, each looked for as written in the cases' texts and notes."""

    fts: str | None = None
    literals: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.fts is not None or bool(self.literals)


def _is_word_character(ch: str) -> bool:
    """What the index's tokenizer (unicode61) keeps in its words: letters, digits and
    private-use characters; everything else separates words."""
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


_SYMBOL_PARTS = ("Mn", "Me", "Cf")
"""Marks and format characters that belong to the symbol before them: the variation
selector of "❤️", the zero-width joiners of a family emoji."""

_VARIATION_SELECTORS = frozenset(map(chr, range(0xFE00, 0xFE10)))
"""Text or emoji presentation of the symbol before: not part of what is looked for."""


def _symbol_runs(word: str) -> list[str]:
    """The runs of symbols in a word, with the marks and joiners that go with them."""
    runs: list[str] = []
    current = ""
    for ch in word:
        if ch in _VARIATION_SELECTORS:
            continue  # "❤️" finds "❤" too, and the other way round
        category = unicodedata.category(ch)
        if category[0] == "S" or (current and category in _SYMBOL_PARTS):
            current += ch
        else:
            if current:
                runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def _searchable(text_: str) -> str:
    """The search text without what no stored text can hold: control characters (a NUL ends
    the query string inside SQLite) and lone surrogates (not Unicode text; binding one
    fails). A surrogate pair, as text from UTF-16 may carry, is the character it stands
    for."""
    text_ = text_.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text_)


def search_terms(text_: str) -> SearchTerms:
    """The reviewer's words as the replica can find them, literally and as prefixes.

    A word with letters or digits goes to the search index, quoted (quotes inside doubled),
    so no character in it is FTS syntax: quotes, wildcards, operators, SQL and RTL text
    are all searched as written. The index drops symbols from its words, so each run of
    them ("💥", the "€" of "€5") must also appear in the case's texts or notes as written:
    an emoji alone finds the cases that contain it. Words of punctuation only separate.
    """
    phrases: list[str] = []
    literals: list[str] = []
    for word in _searchable(text_).split()[:MAX_SEARCH_TERMS]:
        if any(_is_word_character(ch) for ch in word):
            phrases.append('"' + word.replace('"', '""') + '"*')
        literals.extend(run for run in _symbol_runs(word) if run not in literals)
    return SearchTerms(" ".join(phrases) or None, tuple(literals))


def fts_query(text_: str) -> str | None:
    """The words of a search text as an FTS5 query (see `search_terms`), or None."""
    return search_terms(text_).fts


def _contains(literal_text: str) -> ColumnElement[bool]:
    """Cases whose reference, text, reporter's note or one of whose notes contain the text
    as written (a scan: only for what the search index cannot find)."""
    return or_(
        *(func.instr(attribute, literal_text) > 0
          for attribute in (Case.external_ref, Case.reported_text, Case.reporter_note)),
        Case.id.in_(select(Note.case_id).where(func.instr(Note.body, literal_text) > 0)),
    )


def _search_condition(terms: SearchTerms, many_hits: bool) -> ColumnElement[bool]:
    conditions = [_contains(literal_text) for literal_text in terms.literals]
    if terms.fts is not None:
        case_rowid: ColumnElement[Any] = literal_column("review_case.rowid")
        case_id: ColumnElement[Any] = Case.id
        if many_hits:
            case_rowid = literal_column("+review_case.rowid")
            case_id = _filter_column(Case.id)
        in_text = select(_case_text.c.rowid).where(
            text("case_text MATCH :case_terms").bindparams(case_terms=terms.fts))
        in_notes = (
            select(_notes.c.case_id).join(_note_text, _note_text.c.rowid == _notes.c.rowid)
            .where(text("note_text MATCH :note_terms").bindparams(note_terms=terms.fts))
        )
        conditions.insert(0, or_(case_rowid.in_(in_text), case_id.in_(in_notes)))
    return and_(*conditions)


def _filter_column(attribute: Any) -> ColumnElement[Any]:
    """A column as a filter only: the unary plus keeps SQLite from choosing its index.

    Filters like "status is open" or "channel is a user report" match most of the queue;
    walking the sort column's index and skipping what does not match reads a page in
    milliseconds, while starting from the filter's index would sort the whole queue.
    """
    col = attribute.property.columns[0]
    return literal_column(f"+{col.table.name}.{col.name}", type_=col.type)


def _conditions(query: QueueFilter, reviewer_id: uuid.UUID | None, now: datetime,
                many_hits: bool = False) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.statuses:
        conditions.append(_filter_column(Case.status).in_(query.statuses))
    if query.queue_ids:
        conditions.append(_filter_column(Case.queue_id).in_(query.queue_ids))
    for values, attribute in ((query.channels, Case.channel), (query.surfaces, Case.surface),
                              (query.policy_areas, Case.policy_area),
                              (query.languages, Case.language)):
        if values:
            conditions.append(_filter_column(attribute).in_(values))
    if query.sla_states:
        due, at_risk = _filter_column(Case.due_at), _filter_column(Case.at_risk_at)
        states = []
        for state in query.sla_states:
            if state == SlaState.BREACHED:
                states.append(due <= now)
            elif state == SlaState.AT_RISK:
                states.append(and_(at_risk <= now, due > now))
            else:
                states.append(at_risk > now)
        conditions.append(or_(*states))
    if query.mine_only:
        conditions.append(Case.lease_holder_id == reviewer_id)
    terms = search_terms(query.search)
    if terms:
        conditions.append(_search_condition(terms, many_hits))
    elif query.search.strip():
        conditions.append(false())  # only unsearchable characters: nothing can match
    return conditions


def count_cases(session: Session, query: QueueFilter, reviewer_id: uuid.UUID | None,
                now: datetime) -> int:
    statement = select(func.count()).select_from(Case)
    for condition in _conditions(query, reviewer_id, now):
        statement = statement.where(condition)
    return session.scalar(statement) or 0


# -- sorting and pages ----------------------------------------------------------------------


class SortKey(StrEnum):
    PRIORITY = "priority"
    SLA = "sla"
    REFERENCE = "reference"
    CHANNEL = "channel"
    SURFACE = "surface"
    POLICY_AREA = "policy_area"
    LANGUAGE = "language"
    AGE = "age"
    STATUS = "status"
    LEASE_HOLDER = "lease_holder"
    MEDIA = "media"


# The column each sort walks, and whether a larger shown value means a smaller column value.
_SORT_COLUMNS: dict[SortKey, tuple[Any, bool]] = {
    SortKey.PRIORITY: (Case.priority_key, True),
    SortKey.SLA: (Case.due_at, False),
    SortKey.REFERENCE: (Case.external_ref, False),
    SortKey.CHANNEL: (Case.channel, False),
    SortKey.SURFACE: (Case.surface, False),
    SortKey.POLICY_AREA: (Case.policy_area, False),
    SortKey.LANGUAGE: (Case.language, False),
    SortKey.AGE: (Case.reported_at, True),
    SortKey.STATUS: (Case.status, False),
    SortKey.LEASE_HOLDER: (Case.lease_holder_id, False),
    SortKey.MEDIA: (Case.media_count, False),
}


@dataclass(frozen=True)
class QueueOrder:
    key: SortKey = SortKey.PRIORITY
    descending: bool = True  # the shown value: highest priority first by default

    def column_ascending(self) -> bool:
        _col, inverted = _SORT_COLUMNS[self.key]
        return self.descending == inverted


@dataclass(frozen=True)
class CaseRow:
    """Everything one queue row shows."""

    id: uuid.UUID
    external_ref: str
    queue_name: str
    surface: str
    channel: str
    policy_area: str
    language: str
    severity: int
    reach: int
    reported_at: datetime
    due_at: datetime
    status: str
    lease_holder: str | None
    lease_holder_id: uuid.UUID | None
    lease_expires_at: datetime | None
    media_count: int
    priority_key: float
    note_count: int
    sort_value: Any = None


@dataclass(frozen=True)
class PageCursor:
    """Where the last page ended: its sort value and id."""

    value: Any
    case_id: uuid.UUID


def _row_statement() -> Select:
    notes = (
        select(func.count()).select_from(Note).where(Note.case_id == Case.id)
        .correlate(Case).scalar_subquery()
    )
    return (
        select(Case, Queue.name, Reviewer.display_name, notes)
        .join(Queue, Queue.id == Case.queue_id)
        .outerjoin(Reviewer, Reviewer.id == Case.lease_holder_id)
    )


def _to_row(case: Case, queue_name: str, holder: str | None, notes: int,
            sort_column: Any = None) -> CaseRow:
    return CaseRow(
        id=case.id, external_ref=case.external_ref, queue_name=queue_name,
        surface=case.surface, channel=case.channel, policy_area=case.policy_area,
        language=case.language, severity=case.severity, reach=case.reach,
        reported_at=case.reported_at, due_at=case.due_at, status=case.status,
        lease_holder=holder, lease_holder_id=case.lease_holder_id,
        lease_expires_at=case.lease_expires_at, media_count=case.media_count,
        priority_key=case.priority_key, note_count=notes or 0,
        sort_value=getattr(case, sort_column.key) if sort_column is not None else None,
    )


def fetch_page(session: Session, query: QueueFilter, order: QueueOrder,
               reviewer_id: uuid.UUID | None, now: datetime,
               after: PageCursor | None = None, limit: int = 200) -> list[CaseRow]:
    """The next ``limit`` rows after ``after`` (the first page when None)."""
    sort_column, _inverted = _SORT_COLUMNS[order.key]
    ascending = order.column_ascending()
    statement = _row_statement()
    fts = search_terms(query.search).fts
    many_hits = fts is not None and _search_hits(session, fts) > MANY_HITS
    for condition in _conditions(query, reviewer_id, now, many_hits):
        statement = statement.where(condition)
    if after is not None:
        statement = statement.where(_after(sort_column, ascending, after))
    if ascending:
        statement = statement.order_by(sort_column.asc(), Case.id.asc())
    else:
        statement = statement.order_by(sort_column.desc(), Case.id.desc())
    return [_to_row(case, name, holder, notes, sort_column)
            for case, name, holder, notes in session.execute(statement.limit(limit))]


def _after(sort_column: Any, ascending: bool, cursor: PageCursor) -> ColumnElement[bool]:
    # SQLite sorts NULL first: ascending, NULLs come before every value; descending, after.
    if cursor.value is None:
        if ascending:
            return or_(and_(sort_column.is_(None), Case.id > cursor.case_id),
                       sort_column.is_not(None))
        return and_(sort_column.is_(None), Case.id < cursor.case_id)
    # Bind the cursor with the columns' own types (GUID text, UTC timestamps).
    last = tuple_(literal(cursor.value, sort_column.type), literal(cursor.case_id, Case.id.type))
    if ascending:
        return tuple_(sort_column, Case.id) > last
    return or_(tuple_(sort_column, Case.id) < last, sort_column.is_(None))


def case_rows(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CaseRow]:
    if not ids:
        return {}
    statement = _row_statement().where(Case.id.in_(list(ids)))
    return {case.id: _to_row(case, name, holder, notes)
            for case, name, holder, notes in session.execute(statement)}


def case_ids(session: Session, query: QueueFilter, reviewer_id: uuid.UUID | None = None,
             now: datetime | None = None) -> list[uuid.UUID]:
    """Every id the filter admits, highest priority first (tests and small tools only)."""
    statement = select(Case.id)
    for condition in _conditions(query, reviewer_id, now or datetime.now().astimezone()):
        statement = statement.where(condition)
    return list(session.scalars(statement.order_by(Case.priority_key, Case.id)))


def lease_time_left(expires_at: datetime | None, now: datetime) -> timedelta | None:
    return None if expires_at is None else expires_at - now
