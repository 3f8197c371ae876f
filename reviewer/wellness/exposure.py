"""Reviewer wellness: how much graphic material a reviewer has seen, breaks, the privacy curtain.

Pure logic with an injected clock, so that every rule can be tested without sleeping and the
viewer, the status bar and a lead's team view all work from one set of figures. Exposure stays
on the reviewer's device: the ledger exports plain dicts for the local replica, and a lead only
ever sees a `TeamAggregate`, which holds no individual's figures and no check-in notes.

How the viewer feeds the ledger (each call is cheap, never blocks, and is made as it happens):

    ledger = ExposureLedger(clock, tz=local_zone)       # window assumed visible and focused
    ledger.item_shown(key, area.code, area.graphic)     # a new item is on screen, blurred
    if not ledger.reveal_allowed(policy):                # daily budget used up:
        ledger.confirm_over_budget(reason)               #   ask for a reason first
    ledger.reveal_changed(0.045)                        # a lens uncovers 4.5 % of the area
    ledger.reveal_changed(1.0)                          # the whole item unblurred
    ledger.reveal_changed(0.0)                          # blurred again: the reveal ends
    ledger.playback_changed(True); ledger.audio_changed(True)
    ledger.window_state_changed(visible=False, focused=False)   # minimised
    ledger.curtain_changed(True)                        # the privacy curtain is drawn
    ledger.item_hidden()                                # nothing on screen any more
    ledger.today(); budget_state(ledger, policy)        # for the status bar
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from reviewer.clock import Clock

STATE_VERSION = 1
# A team figure over fewer reviewers than this would describe individuals, so it is withheld.
MIN_GROUP_SIZE = 3
MAX_REASON_CHARS = 500
MAX_NOTE_CHARS = 2000
# Float sums of many short intervals may land a hair under a threshold they reached exactly.
_EPSILON_S = 1e-6


@dataclass(frozen=True)
class WellnessPolicy:
    """Exposure budgets and break timings; a lead may adjust them for a team."""

    daily_budget_s: float = 600.0
    warn_fraction: float = 0.8
    graphic_cap_s: float = 4 * 3600.0
    break_every_s: float = 3600.0
    break_length_s: float = 600.0
    snooze_s: float = 600.0
    max_snoozes: int = 1
    idle_curtain_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("daily_budget_s", "graphic_cap_s", "break_every_s", "break_length_s",
                     "snooze_s", "idle_curtain_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if not 0 < self.warn_fraction <= 1:
            raise ValueError(f"warn_fraction must be in (0, 1], not {self.warn_fraction!r}")
        if isinstance(self.max_snoozes, bool) or not isinstance(self.max_snoozes, int) \
                or self.max_snoozes < 0:
            raise ValueError(f"max_snoozes must be a whole number >= 0, not {self.max_snoozes!r}")


class BudgetState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    EXCEEDED = "exceeded"


@dataclass(frozen=True)
class DailyExposure:
    """One local day of one reviewer's exposure; all figures are seconds except counts.

    ``exposure_s`` is unblurred-equivalent seconds (a full reveal counts 1.0 a second, a lens
    its share of the item's area) and ``by_area`` splits it by policy area.
    """

    date: date
    exposure_s: float = 0.0
    by_area: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    revealed_playback_s: float = 0.0
    audio_on_s: float = 0.0
    graphic_queue_s: float = 0.0
    reveals: int = 0
    over_budget_confirmations: int = 0


@dataclass(frozen=True)
class RevealEvent:
    """One reveal: from the item leaving full blur until it is blurred again or leaves.

    ``duration_s`` counts only the seconds the revealed item was really on screen (window
    visible and focused, no curtain); ``exposure_s`` weights them by the revealed fraction.
    """

    item_key: str
    policy_area: str
    started_at: datetime
    duration_s: float
    max_fraction: float
    exposure_s: float
    over_budget_reason: str | None = None


@dataclass(frozen=True)
class OverBudgetConfirmation:
    """A reviewer's reason for revealing an item after the daily budget was used up."""

    item_key: str
    policy_area: str
    at: datetime
    reason: str
    exposure_s: float


@dataclass
class _DayTotals:
    exposure_s: float = 0.0
    by_area: dict[str, float] = field(default_factory=dict)
    revealed_playback_s: float = 0.0
    audio_on_s: float = 0.0
    graphic_queue_s: float = 0.0
    reveals: int = 0
    over_budget_confirmations: int = 0


@dataclass(frozen=True)
class _ShownItem:
    item_key: str
    policy_area: str
    graphic: bool


@dataclass
class _OpenReveal:
    item_key: str
    policy_area: str
    started_at: datetime
    max_fraction: float
    over_budget_reason: str | None
    duration_s: float = 0.0
    exposure_s: float = 0.0

    def finished(self) -> RevealEvent:
        return RevealEvent(self.item_key, self.policy_area, self.started_at, self.duration_s,
                           self.max_fraction, self.exposure_s, self.over_budget_reason)


class ExposureLedger:
    """Turns the viewer's events into exposure seconds per local day and policy area.

    Time is accounted up to each event with the state that held before it, so the figures
    are exact for the events received. Exposure counts only while an item is shown, the
    window is visible and focused and the curtain is open. Graphic-queue time counts while a
    graphic item is shown in a visible window (focus not needed). Audio counts while a shown
    item plays with audio on, whatever the window state, since sound is heard regardless.
    A day is the local date in ``tz``; time spanning midnight is split between the days.
    """

    def __init__(self, clock: Clock, tz: tzinfo = UTC) -> None:
        self._clock = clock
        self._tz = tz
        self._days: dict[date, _DayTotals] = {}
        self._reveals: list[RevealEvent] = []
        self._confirmations: list[OverBudgetConfirmation] = []
        self._shown: _ShownItem | None = None
        self._fraction = 0.0
        self._visible = True
        self._focused = True
        self._curtain = False
        self._playing = False
        self._audio_on = False
        self._open: _OpenReveal | None = None
        self._confirmed_reason: str | None = None
        self._mark = self._now()

    # -- events from the viewer ---------------------------------------------------------

    def item_shown(self, item_key: str, policy_area: str, graphic: bool) -> None:
        """A new item is on screen, fully blurred; any previous item (and its reveal) ends."""
        self._advance()
        self._end_item()
        self._shown = _ShownItem(str(item_key), str(policy_area), bool(graphic))

    def item_hidden(self) -> None:
        """Nothing is on screen any more; an open reveal ends."""
        self._advance()
        self._end_item()

    def reveal_changed(self, fraction: float) -> None:
        """The revealed share of the item's displayed area: 0.0 fully blurred, 1.0 unblurred.

        A change from 0 to more than 0 starts a reveal; back to 0 ends it. Ask
        `reveal_allowed` before revealing: the ledger records, it does not refuse.
        """
        fraction = float(fraction)
        if not (math.isfinite(fraction) and 0.0 <= fraction <= 1.0):
            raise ValueError(f"a reveal fraction is between 0.0 and 1.0, not {fraction!r}")
        now = self._advance()
        if fraction > 0.0 and self._shown is None:
            raise RuntimeError("reveal_changed() above 0 with no item shown: call item_shown()")
        if fraction > 0.0:
            if self._open is None:
                assert self._shown is not None
                self._open = _OpenReveal(self._shown.item_key, self._shown.policy_area, now,
                                         fraction, self._confirmed_reason)
                self._totals(self._local_date(now)).reveals += 1
            self._open.max_fraction = max(self._open.max_fraction, fraction)
        else:
            self._close_reveal()
        self._fraction = fraction

    def window_state_changed(self, visible: bool, focused: bool) -> None:
        """The main window was shown, minimised, covered by another app, or lost focus."""
        self._advance()
        self._visible = bool(visible)
        self._focused = bool(focused)

    def curtain_changed(self, covered: bool) -> None:
        """The privacy curtain was drawn over (or lifted from) the media."""
        self._advance()
        self._curtain = bool(covered)

    def playback_changed(self, playing: bool) -> None:
        """The shown video started or stopped playing; playback stops when the item changes."""
        self._advance()
        self._playing = bool(playing) and self._shown is not None

    def audio_changed(self, on: bool) -> None:
        """The viewer's sound was switched on or muted; the setting outlives item changes."""
        self._advance()
        self._audio_on = bool(on)

    def flush(self) -> None:
        """Account the time up to now, e.g. before persisting or reading figures."""
        self._advance()

    def confirm_over_budget(self, reason: str) -> OverBudgetConfirmation:
        """Record why the shown item must be revealed over budget; covers it until it leaves."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("revealing over the daily budget needs a reason")
        reason = reason.strip()
        if len(reason) > MAX_REASON_CHARS:
            raise ValueError(f"a reason is at most {MAX_REASON_CHARS} characters")
        now = self._advance()
        if self._shown is None:
            raise RuntimeError("confirm_over_budget() with no item shown")
        day = self._local_date(now)
        confirmation = OverBudgetConfirmation(self._shown.item_key, self._shown.policy_area,
                                              now, reason, self.totals_for(day).exposure_s)
        self._confirmations.append(confirmation)
        self._totals(day).over_budget_confirmations += 1
        self._confirmed_reason = reason
        if self._open is not None and self._open.over_budget_reason is None:
            self._open.over_budget_reason = reason
        return confirmation

    # -- reading ------------------------------------------------------------------------

    def reveal_allowed(self, policy: WellnessPolicy) -> bool:
        """Whether the viewer may reveal now without first asking for a reason."""
        if self._confirmed_reason is not None:
            return True
        return budget_state(self, policy) is not BudgetState.EXCEEDED

    def today(self) -> DailyExposure:
        return self.totals_for(self._local_date(self._advance()))

    def totals_for(self, day: date) -> DailyExposure:
        self._advance()
        totals = self._days.get(day)
        if totals is None:
            return DailyExposure(day)
        return DailyExposure(
            day, totals.exposure_s, MappingProxyType(dict(totals.by_area)),
            totals.revealed_playback_s, totals.audio_on_s, totals.graphic_queue_s,
            totals.reveals, totals.over_budget_confirmations,
        )

    def history(self, days: int = 14) -> list[DailyExposure]:
        """The last ``days`` local days, oldest first, today last; empty days included."""
        if days < 1:
            raise ValueError("history covers at least one day")
        today = self._local_date(self._advance())
        return [self.totals_for(today - timedelta(days=back)) for back in range(days - 1, -1, -1)]

    def reveal_events(self, day: date | None = None) -> tuple[RevealEvent, ...]:
        """Finished reveals (the open one is added when it ends), optionally of one day."""
        self._advance()
        if day is None:
            return tuple(self._reveals)
        return tuple(r for r in self._reveals if self._local_date(r.started_at) == day)

    def over_budget_confirmations(self) -> tuple[OverBudgetConfirmation, ...]:
        return tuple(self._confirmations)

    # -- persistence --------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """A JSON-able snapshot for the local replica, as if the session ended now.

        What is on screen is not kept (after a restart nothing is); an open reveal is
        exported as finished at this moment, and the live ledger carries on with it.
        """
        self._advance()
        reveals = list(self._reveals)
        if self._open is not None:
            reveals.append(self._open.finished())
        return {
            "version": STATE_VERSION,
            "days": {day.isoformat(): _totals_to_dict(totals)
                     for day, totals in sorted(self._days.items())},
            "reveals": [_reveal_to_dict(r) for r in reveals],
            "over_budget_confirmations": [_confirmation_to_dict(c) for c in self._confirmations],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], clock: Clock,
                   tz: tzinfo = UTC) -> ExposureLedger:
        """A ledger restored from `export_state`, with nothing on screen."""
        if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
            raise ValueError("not an exposure ledger state of a known version")
        ledger = cls(clock, tz)
        try:
            ledger._days = {date.fromisoformat(day): _totals_from_dict(raw)
                            for day, raw in state["days"].items()}
            ledger._reveals = [_reveal_from_dict(raw) for raw in state["reveals"]]
            ledger._confirmations = [_confirmation_from_dict(raw)
                                     for raw in state["over_budget_confirmations"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"a damaged exposure ledger state: {exc!r}") from exc
        return ledger

    # -- accounting ---------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock.now()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the wellness clock must give timezone-aware times")
        return now.astimezone(UTC)

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._tz).date()

    def _next_local_midnight(self, instant: datetime) -> datetime:
        tomorrow = self._local_date(instant) + timedelta(days=1)
        midnight = datetime.combine(tomorrow, time(), tzinfo=self._tz).astimezone(UTC)
        return max(midnight, instant + timedelta(microseconds=1))

    def _advance(self) -> datetime:
        """Account the time since the last event with the state that held during it."""
        now = self._now()
        start = self._mark
        while start < now:  # a clock stepped back accounts nothing and restarts from now
            stop = min(self._next_local_midnight(start), now)
            self._count(self._local_date(start), (stop - start).total_seconds())
            start = stop
        self._mark = now
        return now

    def _count(self, day: date, seconds: float) -> None:
        shown = self._shown
        if shown is None:
            return
        on_screen = self._visible and not self._curtain
        if on_screen and self._focused and self._fraction > 0.0:
            weighted = self._fraction * seconds
            totals = self._totals(day)
            totals.exposure_s += weighted
            totals.by_area[shown.policy_area] = totals.by_area.get(shown.policy_area, 0.0) \
                + weighted
            if self._playing:
                totals.revealed_playback_s += seconds
            if self._open is not None:
                self._open.duration_s += seconds
                self._open.exposure_s += weighted
        if self._playing and self._audio_on:
            self._totals(day).audio_on_s += seconds
        if on_screen and shown.graphic:
            self._totals(day).graphic_queue_s += seconds

    def _totals(self, day: date) -> _DayTotals:
        return self._days.setdefault(day, _DayTotals())

    def _close_reveal(self) -> None:
        if self._open is not None:
            self._reveals.append(self._open.finished())
            self._open = None

    def _end_item(self) -> None:
        self._close_reveal()
        self._shown = None
        self._fraction = 0.0
        self._playing = False
        self._confirmed_reason = None


def budget_state(source: ExposureLedger | DailyExposure, policy: WellnessPolicy) -> BudgetState:
    """OK, WARNING from ``warn_fraction`` of the daily budget, EXCEEDED from all of it."""
    exposure_s = source.today().exposure_s if isinstance(source, ExposureLedger) \
        else source.exposure_s
    return _budget_state_of(exposure_s, policy)


def graphic_cap_reached(day: DailyExposure, policy: WellnessPolicy) -> bool:
    """Whether the day's time in graphic queues reached the cap (shown in the status bar)."""
    return day.graphic_queue_s + _EPSILON_S >= policy.graphic_cap_s


def _budget_state_of(exposure_s: float, policy: WellnessPolicy) -> BudgetState:
    if exposure_s + _EPSILON_S >= policy.daily_budget_s:
        return BudgetState.EXCEEDED
    if exposure_s + _EPSILON_S >= policy.warn_fraction * policy.daily_budget_s:
        return BudgetState.WARNING
    return BudgetState.OK


# -- breaks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    """How the reviewer feels after a break: mood 1 (low) to 5 (good), an optional note.

    The note is the reviewer's own; it never leaves their device in any team figure.
    """

    at: datetime
    mood: int
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.mood, bool) or not isinstance(self.mood, int) \
                or not 1 <= self.mood <= 5:
            raise ValueError(f"mood is a whole number from 1 to 5, not {self.mood!r}")
        if not isinstance(self.note, str):
            raise ValueError("a check-in note is text")
        note = self.note.strip()
        if len(note) > MAX_NOTE_CHARS:
            raise ValueError(f"a check-in note is at most {MAX_NOTE_CHARS} characters")
        object.__setattr__(self, "note", note)


@dataclass(frozen=True)
class BreakRecord:
    """A break taken: ``completed`` if it lasted the policy's break length, else cut short."""

    started_at: datetime
    ended_at: datetime
    completed: bool
    checkin: CheckIn | None = None

    @property
    def duration_s(self) -> float:
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


class BreakScheduler:
    """Counts review time and says when a break is due.

    Review time is time the app is active (focused, reviewer present), reported with
    `activity` or `window_state_changed`; idle or unfocused wall time does not count, nor
    does time on a break. A break is due after ``break_every_s`` of review time since the
    last completed break; a snooze adds ``snooze_s`` of review time, ``max_snoozes`` times.
    A break cut short leaves the next one due as it was.
    """

    def __init__(self, clock: Clock, policy: WellnessPolicy, *, active: bool = True) -> None:
        self._clock = clock
        self._policy = policy
        self._active = active
        self._review_s = 0.0
        self._since_break_s = 0.0
        self._snoozes = 0
        self._break_started: datetime | None = None
        self._breaks: list[BreakRecord] = []
        self._mark = clock.now()

    def activity(self, active: bool) -> None:
        """The reviewer became active (app focused, input seen) or inactive (idle, away)."""
        self._advance()
        self._active = bool(active)

    def window_state_changed(self, visible: bool, focused: bool) -> None:
        self.activity(visible and focused)

    @property
    def review_time_s(self) -> float:
        """All review time counted by this scheduler."""
        self._advance()
        return self._review_s

    def review_since_break_s(self) -> float:
        self._advance()
        return self._since_break_s

    def next_break_in_s(self) -> float:
        """Review seconds left until a break is due; 0.0 when one is due or being taken."""
        self._advance()
        if self.on_break:
            return 0.0
        return max(0.0, self._due_after_s() - self._since_break_s)

    def break_due(self) -> bool:
        self._advance()
        return not self.on_break and self._since_break_s + _EPSILON_S >= self._due_after_s()

    def snooze(self) -> bool:
        """Put off a due break by ``snooze_s`` of review time; False when not allowed."""
        if not self.break_due() or self._snoozes >= self._policy.max_snoozes:
            return False
        self._snoozes += 1
        return True

    @property
    def snoozes_left(self) -> int:
        return self._policy.max_snoozes - self._snoozes

    @property
    def on_break(self) -> bool:
        return self._break_started is not None

    def start_break(self) -> None:
        """Start a break (whether due or early); review time stops counting."""
        self._advance()
        if self._break_started is not None:
            raise RuntimeError("a break is already under way")
        self._break_started = self._clock.now()

    def break_remaining(self) -> float:
        """Seconds of the break still to go; 0.0 when none is under way or it is over."""
        if self._break_started is None:
            return 0.0
        return max(0.0, self._policy.break_length_s - self._break_elapsed_s())

    def break_finished(self) -> bool:
        """Whether the break under way has lasted its full length (call `end_break` next)."""
        return self.on_break and self._break_elapsed_s() + _EPSILON_S >= \
            self._policy.break_length_s

    def end_break(self) -> BreakRecord:
        """End the break under way, completed or cut short, and record it."""
        self._advance()
        if self._break_started is None:
            raise RuntimeError("no break is under way")
        completed = self.break_finished()
        record = BreakRecord(self._break_started, self._clock.now(), completed)
        self._breaks.append(record)
        self._break_started = None
        if completed:
            self._since_break_s = 0.0
            self._snoozes = 0
        return record

    def check_in(self, mood: int, note: str = "") -> CheckIn:
        """Attach the end-of-break check-in to the last break; validated, at most once."""
        if not self._breaks:
            raise RuntimeError("a check-in follows a break")
        if self._breaks[-1].checkin is not None:
            raise RuntimeError("this break already has a check-in")
        checkin = CheckIn(self._clock.now(), mood, note)
        self._breaks[-1] = replace(self._breaks[-1], checkin=checkin)
        return checkin

    @property
    def breaks(self) -> tuple[BreakRecord, ...]:
        return tuple(self._breaks)

    def checkins(self) -> tuple[CheckIn, ...]:
        return tuple(b.checkin for b in self._breaks if b.checkin is not None)

    def _due_after_s(self) -> float:
        return self._policy.break_every_s + self._snoozes * self._policy.snooze_s

    def _break_elapsed_s(self) -> float:
        assert self._break_started is not None
        return max(0.0, (self._clock.now() - self._break_started).total_seconds())

    def _advance(self) -> None:
        now = self._clock.now()
        if now > self._mark and self._active and self._break_started is None:
            seconds = (now - self._mark).total_seconds()
            self._review_s += seconds
            self._since_break_s += seconds
        self._mark = now


# -- privacy curtain ----------------------------------------------------------------------


class CurtainReason(StrEnum):
    IDLE = "idle"
    FOCUS_LOST = "focus_lost"
    PANIC = "panic"


class CurtainController:
    """Decides when the privacy curtain covers the media; only `lift` takes it away.

    It covers after ``idle_curtain_s`` without input, when the window loses focus or is
    hidden, and on `panic` (Esc). Nothing but a deliberate `lift` uncovers it. Reading
    `covered` also evaluates idle time, so a missed `tick` never leaves media exposed.
    """

    def __init__(self, clock: Clock, policy: WellnessPolicy) -> None:
        self._clock = clock
        self._policy = policy
        self._last_activity = clock.now()
        self._reason: CurtainReason | None = None

    @property
    def covered(self) -> bool:
        return self.tick()

    @property
    def reason(self) -> CurtainReason | None:
        """Why the curtain first covered, or None while it is open."""
        self.tick()
        return self._reason

    def idle_s(self) -> float:
        return max(0.0, (self._clock.now() - self._last_activity).total_seconds())

    def user_activity(self) -> None:
        """Mouse or keyboard input: restarts the idle time, does not lift the curtain."""
        self._last_activity = self._clock.now()

    def tick(self) -> bool:
        """Cover if idle for long enough; returns whether the curtain is covering."""
        if self._reason is None and self.idle_s() + _EPSILON_S >= self._policy.idle_curtain_s:
            self._cover(CurtainReason.IDLE)
        return self._reason is not None

    def focus_changed(self, focused: bool) -> None:
        if not focused:
            self._cover(CurtainReason.FOCUS_LOST)

    def window_state_changed(self, visible: bool, focused: bool) -> None:
        if not (visible and focused):
            self._cover(CurtainReason.FOCUS_LOST)

    def panic(self) -> None:
        """The panic key (Esc): cover at once."""
        self._cover(CurtainReason.PANIC)

    def lift(self) -> None:
        """The reviewer's deliberate action to uncover; restarts the idle time."""
        self._reason = None
        self._last_activity = self._clock.now()

    def _cover(self, reason: CurtainReason) -> None:
        if self._reason is None:
            self._reason = reason


# -- team figures for a lead ----------------------------------------------------------------


class ReviewerDay(NamedTuple):
    """What one reviewer's device offers a team view: a day, consent, and check-ins."""

    exposure: DailyExposure
    sharing_allowed: bool
    checkins: Sequence[CheckIn] = ()


@dataclass(frozen=True)
class TeamAggregate:
    """Team-level figures for one day, from reviewers who allow sharing.

    Figures are None (``suppressed``) when fewer than `MIN_GROUP_SIZE` reviewers share, and
    the mood is None unless that many reviewers checked in: a smaller group would describe
    individuals. No note, name or per-reviewer figure is ever held here.
    """

    date: date
    reviewers_counted: int
    suppressed: bool
    over_budget_count: int | None
    warning_count: int | None
    over_graphic_cap_count: int | None
    median_exposure_s: float | None
    median_graphic_queue_s: float | None
    checkins_counted: int | None
    mean_mood: float | None


def team_aggregate(days: Iterable[ReviewerDay | tuple[DailyExposure, bool, Sequence[CheckIn]]],
                   policy: WellnessPolicy) -> TeamAggregate:
    """Aggregate one day across a team; reviewers who do not share are left out entirely."""
    entries = [ReviewerDay(*entry) for entry in days]
    if not entries:
        raise ValueError("a team aggregate needs at least one reviewer's day")
    dates = {entry.exposure.date for entry in entries}
    if len(dates) != 1:
        raise ValueError("a team aggregate covers one day")
    shared = [entry for entry in entries if entry.sharing_allowed is True]
    counted = len(shared)
    if counted < MIN_GROUP_SIZE:
        return TeamAggregate(dates.pop(), counted, True, None, None, None, None, None, None,
                             None)
    states = [budget_state(entry.exposure, policy) for entry in shared]
    moods = [checkin.mood for entry in shared for checkin in entry.checkins]
    reviewers_checked_in = sum(1 for entry in shared if entry.checkins)
    mean_mood = round(statistics.fmean(moods), 1) \
        if reviewers_checked_in >= MIN_GROUP_SIZE else None
    return TeamAggregate(
        date=dates.pop(),
        reviewers_counted=counted,
        suppressed=False,
        over_budget_count=states.count(BudgetState.EXCEEDED),
        warning_count=states.count(BudgetState.WARNING),
        over_graphic_cap_count=sum(graphic_cap_reached(e.exposure, policy) for e in shared),
        median_exposure_s=round(statistics.median(e.exposure.exposure_s for e in shared), 1),
        median_graphic_queue_s=round(
            statistics.median(e.exposure.graphic_queue_s for e in shared), 1),
        checkins_counted=len(moods),
        mean_mood=mean_mood,
    )


# -- state as plain dicts -----------------------------------------------------------------


def _totals_to_dict(totals: _DayTotals) -> dict[str, Any]:
    return {
        "exposure_s": totals.exposure_s,
        "by_area": dict(totals.by_area),
        "revealed_playback_s": totals.revealed_playback_s,
        "audio_on_s": totals.audio_on_s,
        "graphic_queue_s": totals.graphic_queue_s,
        "reveals": totals.reveals,
        "over_budget_confirmations": totals.over_budget_confirmations,
    }


def _totals_from_dict(raw: Mapping[str, Any]) -> _DayTotals:
    return _DayTotals(
        exposure_s=float(raw["exposure_s"]),
        by_area={str(area): float(seconds) for area, seconds in raw["by_area"].items()},
        revealed_playback_s=float(raw["revealed_playback_s"]),
        audio_on_s=float(raw["audio_on_s"]),
        graphic_queue_s=float(raw["graphic_queue_s"]),
        reveals=int(raw["reveals"]),
        over_budget_confirmations=int(raw["over_budget_confirmations"]),
    )


def _aware(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"a stored time without a timezone: {text!r}")
    return instant.astimezone(UTC)


def _reveal_to_dict(reveal: RevealEvent) -> dict[str, Any]:
    return {
        "item_key": reveal.item_key,
        "policy_area": reveal.policy_area,
        "started_at": reveal.started_at.isoformat(),
        "duration_s": reveal.duration_s,
        "max_fraction": reveal.max_fraction,
        "exposure_s": reveal.exposure_s,
        "over_budget_reason": reveal.over_budget_reason,
    }


def _reveal_from_dict(raw: Mapping[str, Any]) -> RevealEvent:
    reason = raw["over_budget_reason"]
    return RevealEvent(
        item_key=str(raw["item_key"]),
        policy_area=str(raw["policy_area"]),
        started_at=_aware(raw["started_at"]),
        duration_s=float(raw["duration_s"]),
        max_fraction=float(raw["max_fraction"]),
        exposure_s=float(raw["exposure_s"]),
        over_budget_reason=None if reason is None else str(reason),
    )


def _confirmation_to_dict(confirmation: OverBudgetConfirmation) -> dict[str, Any]:
    return {
        "item_key": confirmation.item_key,
        "policy_area": confirmation.policy_area,
        "at": confirmation.at.isoformat(),
        "reason": confirmation.reason,
        "exposure_s": confirmation.exposure_s,
    }


def _confirmation_from_dict(raw: Mapping[str, Any]) -> OverBudgetConfirmation:
    return OverBudgetConfirmation(
        item_key=str(raw["item_key"]),
        policy_area=str(raw["policy_area"]),
        at=_aware(raw["at"]),
        reason=str(raw["reason"]),
        exposure_s=float(raw["exposure_s"]),
    )
