"""A reviewer's wellness records kept on a real replica, as the window keeps them: saved and
read back, the day's totals queued for the lead only as numbers, and a lead's team figures
from what the team shares."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewer.clock import ManualClock
from reviewer.demo.seed import demo_reviewer_id
from reviewer.store.models import OutboxEntry, WellnessState, WellnessSummary
from reviewer.wellness.exposure import BreakRecord, CheckIn, WellnessPolicy
from reviewer.wellness.journal import WellnessJournal
from reviewer.wellness.records import WellnessStateDamaged
from tests.helpers.fixtures import START  # where the clock fixture starts

pytestmark = pytest.mark.demo(cases=6)


def _an_hour_of_work(journal: WellnessJournal, clock: ManualClock):  # type: ignore[no-untyped-def]
    records = journal.load()
    records.ledger.item_shown("case-1/img-0", "violence_graphic", graphic=True)
    records.ledger.reveal_changed(1.0)
    clock.advance(90)
    records.ledger.reveal_changed(0.0)
    records.ledger.flush()
    records.breaks.append(BreakRecord(START, START + timedelta(minutes=5), True))
    records.checkins.append(CheckIn(START + timedelta(minutes=5), 4, "tired eyes"))
    return records


def test_the_workstation_keeps_this_persons_journal(workstation):
    journal = workstation.wellness
    assert journal is workstation.wellness
    assert journal.reviewer_id == workstation.reviewer_id
    assert journal.client_id == workstation.client_id


def test_records_read_back_as_they_were_saved(workstation, clock):
    journal = workstation.wellness
    fresh = journal.load()
    assert fresh.ledger.today().exposure_s == 0 and not fresh.breaks and not fresh.checkins
    records = _an_hour_of_work(journal, clock)
    journal.save(records, clock.now())
    again = journal.load()
    assert again.ledger.today().exposure_s == pytest.approx(90.0)
    assert again.ledger.today().reveals == 1
    assert again.breaks == records.breaks and again.breaks_on(START.date()) == 1
    assert again.checkins == records.checkins
    with workstation.replica.sessions() as session:
        assert session.scalars(select(OutboxEntry)).all() == []  # never pushed


def test_damaged_records_are_refused_loudly(workstation):
    with workstation.replica.writing() as session:
        session.add(WellnessState(reviewer_id=workstation.reviewer_id,
                                  state={"version": 1, "ledger": {"version": 99}},
                                  updated_at=START))
    with pytest.raises(WellnessStateDamaged, match="could not be read"):
        workstation.wellness.load()


def test_sharing_queues_only_the_days_numbers(workstation, clock):
    journal = workstation.wellness
    records = _an_hour_of_work(journal, clock)
    today = records.ledger.today()
    journal.share(today, records.breaks_on(today.date), clock.now())
    with workstation.replica.sessions() as session:
        [entry] = session.scalars(select(OutboxEntry)).all()
    assert (entry.kind, entry.client_id) == ("wellness_summary", workstation.client_id)
    assert entry.payload == {
        "reviewer_id": str(workstation.reviewer_id), "day": "2026-11-16",
        "exposure_s": 90.0, "graphic_queue_s": today.graphic_queue_s, "breaks_taken": 1,
        "updated_at": clock.now().isoformat()}
    assert "tired eyes" not in json.dumps(entry.payload)


def test_a_lead_sees_the_teams_shared_figures_from_three_people_on(workstation):
    journal, day, policy = workstation.wellness, START.date(), WellnessPolicy()
    assert journal.team_view(day, policy) is None  # nobody shares yet

    def share(username: str, minutes: float) -> None:
        with workstation.replica.writing() as session:
            session.add(WellnessSummary(reviewer_id=demo_reviewer_id(username),
                                        day=day.isoformat(), exposure_s=minutes * 60,
                                        graphic_queue_s=0.0, breaks_taken=0,
                                        updated_at=START))

    share("amara", 30)
    share("jonas", 50)
    withheld = journal.team_view(day, policy)
    assert withheld is not None and withheld.suppressed
    assert (withheld.reviewers_counted, withheld.median_exposure_s) == (2, None)
    share("lucia", 70)
    shown = journal.team_view(day, policy)
    assert shown is not None and not shown.suppressed
    assert (shown.reviewers_counted, shown.median_exposure_s) == (3, 50 * 60)
    assert journal.team_view(day + timedelta(days=1), policy) is None
