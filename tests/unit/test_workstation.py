"""What the window asks of the workstation besides the desks: notes, counts, people, outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from reviewer.queue.case_queue import OPEN_STATUSES, QueueFilter
from reviewer.queue.notes import NoteRejected
from reviewer.store.models import Case


def test_a_note_is_kept_with_its_author_and_waits_to_be_sent(workstation, clock):
    with workstation.replica.sessions() as session:
        case_id = session.scalars(select(Case.id).order_by(Case.external_ref)).first()
    assert workstation.notes(case_id) == [] and workstation.unsent()[0] == 0
    with pytest.raises(NoteRejected):
        workstation.add_note(case_id, "   ")
    workstation.add_note(case_id, "Asked the partner for the original upload.")
    [(note, author)] = workstation.notes(case_id)
    assert note.body == "Asked the partner for the original upload."
    assert author == "Demo Reviewer"
    pending, last_sync = workstation.unsent()
    assert pending == 1 and last_sync is not None
    workstation.synchronise()
    assert workstation.unsent()[0] == 0


def test_the_count_follows_the_filter(workstation):
    with workstation.replica.sessions() as session:
        open_cases = session.scalars(select(Case).where(Case.status.in_(OPEN_STATUSES))).all()
    assert workstation.count_cases(QueueFilter()) == len(open_cases) > 0
    language = open_cases[0].language
    assert workstation.count_cases(QueueFilter(languages=(language,))) == len(
        [case for case in open_cases if case.language == language])


def test_a_lead_may_give_a_case_to_anyone_active(workstation):
    people = workstation.active_people()
    names = [name for name, _id in people]
    assert names == sorted(names) and "Demo Reviewer" in names and len(names) > 3
