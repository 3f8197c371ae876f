"""Wellness rules with a scripted clock: exposure, budgets, breaks, the curtain, team figures."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.clock import ManualClock
from reviewer.wellness.exposure import (
    BreakScheduler,
    BudgetState,
    CheckIn,
    CurtainController,
    CurtainReason,
    DailyExposure,
    ExposureLedger,
    ReviewerDay,
    TeamAggregate,
    WellnessPolicy,
    budget_state,
    graphic_cap_reached,
    team_aggregate,
)
from tests.helpers.fixtures import START  # where the clock fixture starts

DAY = START.date()


@pytest.fixture
def policy() -> WellnessPolicy:
    return WellnessPolicy()


@pytest.fixture
def ledger(clock: ManualClock) -> ExposureLedger:
    return ExposureLedger(clock)


def _reveal_for(ledger: ExposureLedger, clock: ManualClock, fraction: float, seconds: float,
                *, item: str = "case-1/img-0", area: str = "violence_graphic") -> None:
    ledger.item_shown(item, area, graphic=True)
    ledger.reveal_changed(fraction)
    clock.advance(seconds)
    ledger.reveal_changed(0.0)


# -- the exposure ledger -------------------------------------------------------------------


def test_a_full_reveal_of_three_seconds_counts_three(ledger, clock):
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    clock.advance(5)  # blurred time is not exposure
    ledger.reveal_changed(1.0)
    clock.advance(3.0)
    ledger.reveal_changed(0.0)
    clock.advance(5)

    today = ledger.today()
    assert today.date == DAY
    assert today.exposure_s == pytest.approx(3.0)
    assert today.reveals == 1
    [reveal] = ledger.reveal_events()
    assert reveal.item_key == "case-1/img-0"
    assert reveal.policy_area == "violence_graphic"
    assert reveal.started_at == START + timedelta(seconds=5)
    assert reveal.duration_s == pytest.approx(3.0)
    assert reveal.max_fraction == 1.0
    assert reveal.exposure_s == pytest.approx(3.0)


def test_a_lens_counts_its_share_of_the_area(ledger, clock):
    _reveal_for(ledger, clock, 0.045, 10)

    assert ledger.today().exposure_s == pytest.approx(0.45)
    [reveal] = ledger.reveal_events()
    assert reveal.duration_s == pytest.approx(10)
    assert reveal.max_fraction == 0.045


def test_a_lens_growing_to_a_full_reveal_is_one_reveal(ledger, clock):
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    ledger.reveal_changed(0.1)
    clock.advance(4)
    ledger.reveal_changed(1.0)
    clock.advance(2)
    ledger.reveal_changed(0.0)

    assert ledger.today().exposure_s == pytest.approx(0.4 + 2.0)
    [reveal] = ledger.reveal_events()
    assert reveal.max_fraction == 1.0
    assert reveal.duration_s == pytest.approx(6)


def test_a_reveal_while_the_window_is_unfocused_counts_nothing(ledger, clock):
    ledger.window_state_changed(visible=True, focused=False)
    _reveal_for(ledger, clock, 1.0, 30)

    assert ledger.today().exposure_s == 0.0
    [reveal] = ledger.reveal_events()  # still accounted as a reveal, with no time seen
    assert reveal.duration_s == 0.0


def test_focus_returning_during_a_reveal_counts_from_then(ledger, clock):
    ledger.window_state_changed(visible=True, focused=False)
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    ledger.reveal_changed(1.0)
    clock.advance(30)
    ledger.window_state_changed(visible=True, focused=True)
    clock.advance(2)

    assert ledger.today().exposure_s == pytest.approx(2.0)


def test_minimising_mid_reveal_stops_counting(ledger, clock):
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    ledger.reveal_changed(1.0)
    clock.advance(2)
    ledger.window_state_changed(visible=False, focused=False)
    clock.advance(300)
    assert ledger.today().exposure_s == pytest.approx(2.0)

    ledger.window_state_changed(visible=True, focused=True)
    clock.advance(1)
    assert ledger.today().exposure_s == pytest.approx(3.0)


def test_the_privacy_curtain_stops_counting(ledger, clock):
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    ledger.reveal_changed(1.0)
    clock.advance(2)
    ledger.curtain_changed(True)
    clock.advance(60)

    today = ledger.today()
    assert today.exposure_s == pytest.approx(2.0)
    assert today.graphic_queue_s == pytest.approx(2.0)


def test_changing_item_ends_the_reveal_and_the_next_item_starts_blurred(ledger, clock):
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    ledger.reveal_changed(1.0)
    clock.advance(2)
    ledger.item_shown("case-2/img-0", "violence_graphic", graphic=True)
    clock.advance(10)

    assert ledger.today().exposure_s == pytest.approx(2.0)
    [reveal] = ledger.reveal_events()
    assert reveal.item_key == "case-1/img-0"
    assert reveal.duration_s == pytest.approx(2.0)


def test_hiding_the_item_ends_the_reveal(ledger, clock):
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    ledger.reveal_changed(0.5)
    clock.advance(4)
    ledger.item_hidden()
    clock.advance(10)

    assert ledger.today().exposure_s == pytest.approx(2.0)
    assert len(ledger.reveal_events()) == 1


def test_a_reveal_spanning_midnight_is_split_between_the_local_days(clock):
    east = timezone(timedelta(hours=2))
    clock.set(datetime(2026, 11, 16, 23, 59, 58, tzinfo=east))
    ledger = ExposureLedger(clock, tz=east)
    _reveal_for(ledger, clock, 1.0, 5)

    first, second = date(2026, 11, 16), date(2026, 11, 17)
    assert ledger.totals_for(first).exposure_s == pytest.approx(2.0)
    assert ledger.totals_for(second).exposure_s == pytest.approx(3.0)
    assert ledger.totals_for(first).reveals == 1  # a reveal belongs to the day it started
    assert ledger.totals_for(second).reveals == 0
    assert ledger.today().date == second
    [reveal] = ledger.reveal_events()
    assert reveal.duration_s == pytest.approx(5.0)
    assert ledger.reveal_events(first) == (reveal,)
    assert ledger.reveal_events(second) == ()


def test_days_follow_the_injected_timezone_not_utc(clock):
    # 23:30 UTC on the 16th is already the 17th in UTC+2.
    clock.set(datetime(2026, 11, 16, 23, 30, tzinfo=UTC))
    ledger = ExposureLedger(clock, tz=timezone(timedelta(hours=2)))
    _reveal_for(ledger, clock, 1.0, 1)

    assert ledger.totals_for(date(2026, 11, 17)).exposure_s == pytest.approx(1.0)
    assert ledger.totals_for(date(2026, 11, 16)).exposure_s == 0.0


def test_exposure_is_aggregated_per_policy_area(ledger, clock):
    _reveal_for(ledger, clock, 1.0, 3, item="a", area="violence_graphic")
    _reveal_for(ledger, clock, 0.5, 4, item="b", area="suicide_self_injury")
    _reveal_for(ledger, clock, 1.0, 1, item="c", area="violence_graphic")

    today = ledger.today()
    assert dict(today.by_area) == pytest.approx(
        {"violence_graphic": 4.0, "suicide_self_injury": 2.0})
    assert today.exposure_s == pytest.approx(6.0)
    assert today.reveals == 3


def test_revealed_playback_and_audio_seconds(ledger, clock):
    ledger.item_shown("case-1/video-0", "violence_graphic", graphic=True)
    ledger.playback_changed(True)
    clock.advance(10)  # playing blurred and muted: neither counts
    ledger.audio_changed(True)
    clock.advance(5)  # blurred with sound: sound only
    ledger.reveal_changed(1.0)
    clock.advance(3)  # revealed with sound: both
    ledger.audio_changed(False)
    clock.advance(2)  # revealed, muted
    ledger.playback_changed(False)
    clock.advance(7)  # revealed still frame: exposure only

    today = ledger.today()
    assert today.revealed_playback_s == pytest.approx(5.0)
    assert today.audio_on_s == pytest.approx(8.0)
    assert today.exposure_s == pytest.approx(12.0)


def test_playback_stops_with_the_item_and_sound_stays_switched_on(ledger, clock):
    ledger.item_shown("case-1/video-0", "violence_graphic", graphic=True)
    ledger.audio_changed(True)
    ledger.playback_changed(True)
    clock.advance(2)
    ledger.item_shown("case-2/video-0", "violence_graphic", graphic=True)
    clock.advance(10)  # not playing yet
    ledger.playback_changed(True)
    clock.advance(1)

    assert ledger.today().audio_on_s == pytest.approx(3.0)


def test_graphic_queue_time_counts_graphic_items_in_a_visible_window(ledger, clock, policy):
    ledger.item_shown("a", "violence_graphic", graphic=True)
    clock.advance(100)
    ledger.window_state_changed(visible=True, focused=False)  # still on screen
    clock.advance(50)
    ledger.window_state_changed(visible=False, focused=False)
    clock.advance(1000)
    ledger.window_state_changed(visible=True, focused=True)
    ledger.item_shown("b", "spam_fraud", graphic=False)
    clock.advance(1000)

    today = ledger.today()
    assert today.graphic_queue_s == pytest.approx(150.0)
    assert not graphic_cap_reached(today, policy)
    assert graphic_cap_reached(dataclasses.replace(today, graphic_queue_s=4 * 3600), policy)


def test_the_viewer_is_told_about_mistakes(ledger):
    for fraction in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"between 0\.0 and 1\.0"):
            ledger.reveal_changed(fraction)
    with pytest.raises(RuntimeError, match="no item shown"):
        ledger.reveal_changed(1.0)
    ledger.reveal_changed(0.0)  # blurring with nothing shown is harmless


def test_history_lists_the_last_days_oldest_first(ledger, clock):
    _reveal_for(ledger, clock, 1.0, 2)
    clock.advance(timedelta(days=2))
    _reveal_for(ledger, clock, 1.0, 1)

    history = ledger.history(days=3)
    assert [d.date for d in history] == [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    assert [d.exposure_s for d in history] == pytest.approx([2.0, 0.0, 1.0])
    assert len(ledger.history()) == 14
    assert ledger.history()[-1].date == DAY + timedelta(days=2)


def test_a_daily_exposure_cannot_change_the_ledger(ledger, clock):
    _reveal_for(ledger, clock, 1.0, 2)
    today = ledger.today()
    with pytest.raises(TypeError):
        today.by_area["violence_graphic"] = 0.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        today.exposure_s = 0.0  # type: ignore[misc]


steps = st.lists(
    st.tuples(
        st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, allow_nan=False)),
        st.integers(0, 600_000).map(lambda ms: ms / 1000),  # the clock keeps microseconds
        st.booleans(),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None, database=None)
@given(steps=steps)
def test_exposure_is_the_sum_of_fraction_times_seen_duration(steps):
    clock = ManualClock(START)
    ledger = ExposureLedger(clock)
    ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    expected = 0.0
    for fraction, seconds, focused in steps:
        ledger.reveal_changed(fraction)
        ledger.window_state_changed(visible=True, focused=focused)
        clock.advance(seconds)
        if focused:
            expected += fraction * seconds
    ledger.item_hidden()

    total = sum(day.exposure_s for day in ledger.history(days=2))
    assert total == pytest.approx(expected, abs=1e-6)
    assert sum(r.exposure_s for r in ledger.reveal_events()) == pytest.approx(expected, abs=1e-6)


# -- budgets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "state"),
    [(0, BudgetState.OK), (479.9, BudgetState.OK), (480, BudgetState.WARNING),
     (599.9, BudgetState.WARNING), (600, BudgetState.EXCEEDED), (900, BudgetState.EXCEEDED)],
)
def test_budget_thresholds_at_exactly_80_and_100_percent(ledger, clock, policy, seconds, state):
    _reveal_for(ledger, clock, 1.0, seconds)

    assert budget_state(ledger, policy) is state
    assert budget_state(ledger.today(), policy) is state


def test_a_lead_adjusted_budget_moves_the_thresholds(ledger, clock):
    _reveal_for(ledger, clock, 1.0, 300)
    assert budget_state(ledger, WellnessPolicy(daily_budget_s=300)) is BudgetState.EXCEEDED
    assert budget_state(ledger, WellnessPolicy(daily_budget_s=1200)) is BudgetState.OK
    lenient = WellnessPolicy(daily_budget_s=360, warn_fraction=0.9)
    assert budget_state(ledger, lenient) is BudgetState.OK


def test_a_policy_rejects_nonsense(policy):
    with pytest.raises(ValueError, match="daily_budget_s"):
        WellnessPolicy(daily_budget_s=0)
    with pytest.raises(ValueError, match="warn_fraction"):
        WellnessPolicy(warn_fraction=1.5)
    with pytest.raises(ValueError, match="max_snoozes"):
        WellnessPolicy(max_snoozes=-1)


def test_an_over_budget_reveal_needs_a_reason_for_each_item(ledger, clock, policy):
    _reveal_for(ledger, clock, 1.0, 600, item="a")
    ledger.item_shown("b", "violence_graphic", graphic=True)
    assert not ledger.reveal_allowed(policy)

    for blank in ("", "   \n\t"):
        with pytest.raises(ValueError, match="needs a reason"):
            ledger.confirm_over_budget(blank)
    assert not ledger.reveal_allowed(policy)
    assert ledger.over_budget_confirmations() == ()

    confirmation = ledger.confirm_over_budget("  Escalation from legal needs the original. ")
    assert confirmation.reason == "Escalation from legal needs the original."
    assert confirmation.item_key == "b"
    assert confirmation.exposure_s == pytest.approx(600)
    assert ledger.reveal_allowed(policy)
    ledger.reveal_changed(1.0)
    clock.advance(1)
    ledger.reveal_changed(0.0)
    assert ledger.reveal_allowed(policy)  # the same item again

    ledger.item_shown("c", "violence_graphic", graphic=True)
    assert not ledger.reveal_allowed(policy)
    assert ledger.over_budget_confirmations() == (confirmation,)
    assert ledger.today().over_budget_confirmations == 1
    revealed_b = ledger.reveal_events()[-1]
    assert revealed_b.item_key == "b"
    assert revealed_b.over_budget_reason == "Escalation from legal needs the original."
    assert ledger.reveal_events()[0].over_budget_reason is None


def test_under_budget_reveals_need_no_reason(ledger, clock, policy):
    _reveal_for(ledger, clock, 1.0, 599)
    assert ledger.reveal_allowed(policy)


# -- breaks --------------------------------------------------------------------------------


def test_a_break_is_due_after_an_hour_of_active_time_not_wall_time(clock, policy):
    breaks = BreakScheduler(clock, policy)
    clock.advance(timedelta(minutes=30))
    breaks.activity(False)  # idle
    clock.advance(timedelta(hours=2))
    breaks.activity(True)
    clock.advance(timedelta(minutes=20))
    breaks.window_state_changed(visible=True, focused=False)
    clock.advance(timedelta(hours=1))
    breaks.window_state_changed(visible=True, focused=True)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert not breaks.break_due()
    assert breaks.next_break_in_s() == pytest.approx(1.0)

    clock.advance(1)
    assert breaks.break_due()
    assert breaks.review_time_s == pytest.approx(3600)


def test_a_break_can_be_snoozed_once(clock, policy):
    breaks = BreakScheduler(clock, policy)
    assert not breaks.snooze()  # nothing due yet
    clock.advance(timedelta(hours=1))

    assert breaks.snooze()
    assert not breaks.break_due()
    assert breaks.snoozes_left == 0
    clock.advance(timedelta(minutes=10))
    assert breaks.break_due()
    assert not breaks.snooze()
    assert breaks.break_due()


def test_breaks_are_recorded_completed_or_cut_short(clock, policy):
    breaks = BreakScheduler(clock, policy)
    clock.advance(timedelta(hours=1))
    assert breaks.snooze()
    clock.advance(timedelta(minutes=10))

    breaks.start_break()
    assert not breaks.break_due()
    clock.advance(timedelta(minutes=4))
    assert breaks.break_remaining() == pytest.approx(360)
    assert not breaks.break_finished()
    short = breaks.end_break()
    assert not short.completed
    assert short.duration_s == pytest.approx(240)
    assert breaks.break_due()  # a break cut short does not count

    breaks.start_break()
    with pytest.raises(RuntimeError):
        breaks.start_break()
    clock.advance(timedelta(minutes=30))  # break time is not review time
    assert breaks.break_finished()
    assert breaks.break_remaining() == 0.0
    full = breaks.end_break()
    assert full.completed
    assert full.started_at == START + timedelta(minutes=74)
    assert full.ended_at == START + timedelta(minutes=104)

    assert breaks.breaks == (short, full)
    assert not breaks.break_due()
    assert breaks.review_since_break_s() == 0.0
    assert breaks.snoozes_left == 1
    assert breaks.review_time_s == pytest.approx(4200)
    with pytest.raises(RuntimeError):
        breaks.end_break()


@pytest.mark.parametrize("mood", [0, 6, -1, True, 3.5, "4", None])
def test_a_check_in_mood_is_a_whole_number_from_1_to_5(clock, mood):
    with pytest.raises(ValueError, match="mood"):
        CheckIn(clock.now(), mood)


def test_the_end_of_break_check_in_is_attached_to_the_break(clock, policy):
    breaks = BreakScheduler(clock, policy)
    with pytest.raises(RuntimeError):
        breaks.check_in(4)
    breaks.start_break()
    clock.advance(timedelta(minutes=10))
    breaks.end_break()

    checkin = breaks.check_in(4, "  rough case before lunch  ")
    assert (checkin.mood, checkin.note) == (4, "rough case before lunch")
    assert breaks.breaks[-1].checkin == checkin
    assert breaks.checkins() == (checkin,)
    with pytest.raises(RuntimeError, match="already"):
        breaks.check_in(5)
    with pytest.raises(ValueError, match="note"):
        CheckIn(clock.now(), 3, "x" * 2001)
    assert CheckIn(clock.now(), 1).note == ""


# -- the privacy curtain -------------------------------------------------------------------


def test_the_curtain_covers_after_a_minute_idle(clock, policy):
    curtain = CurtainController(clock, policy)
    clock.advance(59)
    assert not curtain.tick()
    curtain.user_activity()
    clock.advance(59)
    assert not curtain.covered
    clock.advance(1)
    assert curtain.tick()
    assert curtain.covered
    assert curtain.reason is CurtainReason.IDLE


def test_the_curtain_covers_on_focus_loss_and_on_panic(clock, policy):
    curtain = CurtainController(clock, policy)
    curtain.focus_changed(True)
    assert not curtain.covered
    curtain.focus_changed(False)
    assert curtain.reason is CurtainReason.FOCUS_LOST

    curtain.lift()
    curtain.window_state_changed(visible=False, focused=False)
    assert curtain.covered

    curtain.lift()
    curtain.panic()
    assert curtain.reason is CurtainReason.PANIC


def test_the_curtain_lifts_only_when_the_reviewer_lifts_it(clock, policy):
    curtain = CurtainController(clock, policy)
    curtain.panic()
    curtain.user_activity()
    curtain.focus_changed(True)
    curtain.window_state_changed(visible=True, focused=True)
    clock.advance(timedelta(hours=3))
    assert curtain.tick()
    assert curtain.covered

    curtain.lift()
    assert not curtain.covered
    assert curtain.reason is None
    clock.advance(59)  # lifting restarts the idle time
    assert not curtain.covered


# -- team figures for a lead ---------------------------------------------------------------


NOTE = "I keep seeing the video from this morning"


def _day(exposure_s: float, graphic_s: float = 0.0, on: date = DAY) -> DailyExposure:
    return DailyExposure(on, exposure_s, {"violence_graphic": exposure_s},
                         graphic_queue_s=graphic_s)


def test_the_team_aggregate_leaves_out_reviewers_who_do_not_share(clock, policy):
    checkin = CheckIn(clock.now(), 2, NOTE)
    aggregate = team_aggregate([
        ReviewerDay(_day(100, 3600), True, [checkin]),
        ReviewerDay(_day(500, 7200), True, [CheckIn(clock.now(), 4)]),
        (_day(700, 4 * 3600), True, [CheckIn(clock.now(), 3, "fine")]),
        (_day(5000, 8 * 3600), False, [CheckIn(clock.now(), 1, "private")]),
    ], policy)

    assert aggregate.date == DAY
    assert aggregate.reviewers_counted == 3
    assert not aggregate.suppressed
    assert aggregate.over_budget_count == 1
    assert aggregate.warning_count == 1
    assert aggregate.over_graphic_cap_count == 1
    assert aggregate.median_exposure_s == 500
    assert aggregate.median_graphic_queue_s == 7200
    assert aggregate.checkins_counted == 3
    assert aggregate.mean_mood == 3.0


def test_the_team_aggregate_never_holds_notes_or_individual_figures(clock, policy):
    aggregate = team_aggregate([
        (_day(100), True, [CheckIn(clock.now(), 2, NOTE)]),
        (_day(200), True, [CheckIn(clock.now(), 3, NOTE + " again")]),
        (_day(300), True, ()),
        (_day(4321.5), False, [CheckIn(clock.now(), 1, "private")]),
    ], policy)

    names = {f.name for f in dataclasses.fields(TeamAggregate)}
    assert names == {
        "date", "reviewers_counted", "suppressed", "over_budget_count", "warning_count",
        "over_graphic_cap_count", "median_exposure_s", "median_graphic_queue_s",
        "checkins_counted", "mean_mood",
    }
    values = dataclasses.asdict(aggregate).values()
    assert not any(isinstance(value, str | list | tuple | dict) for value in values)
    text = repr(aggregate) + json.dumps(dataclasses.asdict(aggregate), default=str)
    for secret in (NOTE, "again", "private", "4321"):
        assert secret not in text
    assert aggregate.mean_mood is None  # only two reviewers checked in: it would be theirs


def test_a_team_figure_over_too_few_reviewers_is_withheld(policy):
    aggregate = team_aggregate([(_day(900), True, ()), (_day(100), True, ()),
                                (_day(50), False, ())], policy)

    assert aggregate.reviewers_counted == 2
    assert aggregate.suppressed
    assert aggregate.median_exposure_s is None
    assert aggregate.over_budget_count is None


def test_a_team_aggregate_covers_one_day(policy):
    with pytest.raises(ValueError, match="one day"):
        team_aggregate([(_day(1), True, ()), (_day(1, on=DAY - timedelta(days=1)), True, ())],
                       policy)
    with pytest.raises(ValueError):
        team_aggregate([], policy)


# -- persistence ---------------------------------------------------------------------------


def test_the_ledger_state_round_trips_through_json(ledger, clock, policy):
    _reveal_for(ledger, clock, 1.0, 600, item="a")
    ledger.item_shown("b", "child_safety", graphic=True)
    ledger.confirm_over_budget("Needed for the report to the authorities.")
    ledger.audio_changed(True)
    ledger.playback_changed(True)
    ledger.reveal_changed(0.25)
    clock.advance(8)
    clock.advance(timedelta(days=1))  # the open reveal runs past midnight

    state = ledger.export_state()
    restored = ExposureLedger.from_state(json.loads(json.dumps(state)), clock)

    assert restored.export_state() == state
    for day in (DAY, DAY + timedelta(days=1)):
        assert restored.totals_for(day) == ledger.totals_for(day)
    assert restored.over_budget_confirmations() == ledger.over_budget_confirmations()
    assert len(restored.reveal_events()) == 2  # the open reveal, as it stood at export
    assert restored.reveal_events()[-1].over_budget_reason is not None
    assert len(ledger.reveal_events()) == 1  # the live ledger still has it open
    clock.advance(10)  # nothing is on screen in the restored ledger
    assert restored.today().exposure_s == pytest.approx(ledger.today().exposure_s - 2.5)


def test_a_damaged_state_is_refused(clock):
    with pytest.raises(ValueError):
        ExposureLedger.from_state({"version": 99}, clock)
    with pytest.raises(ValueError, match="damaged"):
        ExposureLedger.from_state({"version": 1, "days": {"not a date": {}}, "reveals": [],
                                   "over_budget_confirmations": []}, clock)
