"""The queue's pages as the window reads them from a real replica: every case once, in the
order asked for, rows again by id, counts, and "Mine" meaning the person they are for."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.queue.case_queue import PageCursor, QueueFilter, QueueOrder, SortKey
from reviewer.queue.pages import PAGE_SIZE, QueuePages
from reviewer.store.models import Case
from tests.helpers.fixtures import START

NOW = START  # where module_workstation's clock starts


pytestmark = pytest.mark.demo(cases=60)  # the module_workstation's


def _walk(pages: QueuePages, query: QueueFilter, order: QueueOrder, limit: int):
    """Every row, a page of ``limit`` at a time, as the queue model scrolls."""
    rows, cursor = [], None
    for _page in range(100):
        batch = pages.page(query, order, NOW, after=cursor, limit=limit)
        rows.extend(batch)
        if len(batch) < limit:
            return rows
        cursor = PageCursor(batch[-1].sort_value, batch[-1].id)
    raise AssertionError("the pages never end")


def test_the_workstation_hands_out_its_own_pages(module_workstation):
    pages = module_workstation.queue_pages
    assert pages is module_workstation.queue_pages
    assert pages.reviewer_id == module_workstation.reviewer_id == demo_reviewer_id()
    assert PAGE_SIZE == 200


@pytest.mark.parametrize("order", [QueueOrder(), QueueOrder(SortKey.REFERENCE, False),
                                   QueueOrder(SortKey.AGE, True)])
def test_small_pages_show_what_one_page_shows_each_case_once(module_workstation, order):
    pages = module_workstation.queue_pages
    whole = pages.page(QueueFilter(), order, NOW)
    walked = _walk(pages, QueueFilter(), order, limit=7)
    assert 7 < len(whole) < PAGE_SIZE
    assert [r.id for r in walked] == [r.id for r in whole]
    assert len({r.id for r in walked}) == len(walked) == pages.count(QueueFilter(), NOW)
    assert module_workstation.count_cases(QueueFilter()) == len(walked)


def test_a_filter_narrows_pages_and_count_alike(module_workstation):
    pages = module_workstation.queue_pages
    channel = pages.page(QueueFilter(), QueueOrder(), NOW)[0].channel
    query = QueueFilter(channels=(channel,))
    rows = _walk(pages, query, QueueOrder(), limit=5)
    assert rows and all(r.channel == channel for r in rows)
    assert pages.count(query, NOW) == len(rows) < pages.count(QueueFilter(), NOW)
    assert pages.count(QueueFilter(search="no case says zyzzyvaquux"), NOW) == 0


def test_rows_by_id_are_the_rows_the_page_showed(module_workstation):
    pages = module_workstation.queue_pages
    shown = pages.page(QueueFilter(), QueueOrder(), NOW, limit=10)
    again = pages.rows([r.id for r in shown] + [uuid.uuid4()])
    assert set(again) == {r.id for r in shown}
    for row in shown:
        assert again[row.id].external_ref == row.external_ref
        assert again[row.id].queue_name == row.queue_name and row.queue_name
        assert again[row.id].priority_key == row.priority_key
    assert pages.rows([]) == {}


def test_a_note_and_a_lease_show_in_the_row(module_workstation):
    pages = module_workstation.queue_pages
    case_id = pages.page(QueueFilter(), QueueOrder(), NOW, limit=1)[0].id
    module_workstation.add_note(case_id, "Checked the uploader's other posts.")
    with module_workstation.replica.writing() as session:
        case = session.get(Case, case_id)
        case.status, case.lease_holder_id = "leased", module_workstation.reviewer_id
        case.lease_expires_at = NOW + timedelta(minutes=15)
    row = pages.rows([case_id])[case_id]
    assert row.note_count == 1
    assert row.lease_holder == module_workstation.reviewer().display_name
    assert row.lease_expires_at == NOW + timedelta(minutes=15)


def test_mine_means_the_person_the_pages_are_for(module_workstation):
    with module_workstation.replica.sessions() as session:
        someone_else = session.scalars(
            select(Case.id).where(Case.status == "new").order_by(Case.id)).first()
    with module_workstation.replica.writing() as session:
        case = session.get(Case, someone_else)
        case.status, case.lease_holder_id = "leased", demo_reviewer_id("jonas")
        case.lease_expires_at = NOW + timedelta(minutes=15)
    mine = QueueFilter(mine_only=True)
    amara = {r.id for r in module_workstation.queue_pages.page(mine, QueueOrder(), NOW)}
    jonas_pages = QueuePages(module_workstation.replica, demo_reviewer_id("jonas"))
    jonas = [r.id for r in jonas_pages.page(mine, QueueOrder(), NOW)]
    assert jonas == [someone_else] and someone_else not in amara
    assert jonas_pages.count(mine, NOW) == 1
