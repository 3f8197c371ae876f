"""The queue's rules: priority, SLA states with an injected clock, filters, search, pages."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from reviewer.clock import ManualClock
from reviewer.queue.case_queue import (
    PriorityWeights,
    QueueFilter,
    QueueOrder,
    SlaState,
    SortKey,
    count_cases,
    explain_priority,
    fetch_page,
    format_time_left,
    fts_query,
    priority_key,
    priority_score,
    sla_state,
)
from reviewer.settings import CoreSettings
from reviewer.store.models import Case
from tests.helpers.workstations import demo_workstation

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


# -- priority -------------------------------------------------------------------------------


def test_priority_formula_by_hand():
    weights = PriorityWeights()
    due = NOW + timedelta(hours=3)
    parts = explain_priority(4, "regulator", 999, due, NOW, weights)
    assert parts.severity_points == 40
    assert parts.channel_points == 30
    assert parts.reach_points == pytest.approx(15.0)  # 5 × log10(1000)
    assert parts.time_points == pytest.approx(-6.0)  # 3 h left × 2
    assert parts.total == pytest.approx(79.0)
    key = priority_key(4, "regulator", 999, due, weights)
    assert priority_score(key, NOW, weights) == pytest.approx(79.0)


def test_regulator_legal_press_partner_vip_outrank_user_reports():
    weights = PriorityWeights()
    due = NOW + timedelta(hours=5)

    def score(channel):
        return priority_score(priority_key(3, channel, 100, due, weights), NOW, weights)

    ordinary = score("user_report")
    for channel in ("regulator", "legal_request", "press", "partner", "vip"):
        assert score(channel) > ordinary


def test_breached_cases_keep_gaining_priority():
    weights = PriorityWeights()
    key = priority_key(2, "user_report", 10, NOW - timedelta(hours=1), weights)
    assert priority_score(key, NOW + timedelta(hours=2), weights) > priority_score(
        key, NOW, weights)


def test_order_by_key_is_order_by_score_at_any_time():
    weights = PriorityWeights()
    cases = [(5, "user_report", 10, NOW + timedelta(hours=20)),
             (1, "regulator", 10, NOW + timedelta(hours=1)),
             (3, "press", 10**6, NOW - timedelta(hours=2))]
    keys = [priority_key(*c, weights) for c in cases]
    for when in (NOW, NOW + timedelta(hours=30)):
        by_score = sorted(range(3), key=lambda i: -priority_score(keys[i], when, weights))
        by_key = sorted(range(3), key=lambda i: keys[i])
        assert by_score == by_key


def test_weights_come_from_settings(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text("[priority]\nseverity_weight = 12\nchannel_press = 40\n"
                    "hour_weight = not-a-number\n")
    weights = PriorityWeights.from_settings(CoreSettings.load(path))
    assert weights.severity == 12
    assert weights.channels["press"] == 40
    assert weights.per_hour == 2.0  # unreadable value: the default, not a crash


def test_breakdown_text_explains_each_part():
    text_ = explain_priority(4, "press", 12_345, NOW - timedelta(hours=2), NOW,
                             PriorityWeights()).explain()
    assert "severity 4: +40" in text_
    assert "channel Press: +25" in text_
    assert "reach 12,345" in text_
    assert "SLA breached 2.0 h ago" in text_


# -- SLA ------------------------------------------------------------------------------------


def test_sla_states_move_with_the_clock():
    clock = ManualClock(NOW)
    reported, due = NOW, NOW + timedelta(hours=4)
    assert sla_state(reported, due, clock.now()) == SlaState.ON_TRACK
    clock.advance(timedelta(hours=2, minutes=59))
    assert sla_state(reported, due, clock.now()) == SlaState.ON_TRACK
    clock.advance(timedelta(minutes=1))  # 25 % of the window left
    assert sla_state(reported, due, clock.now()) == SlaState.AT_RISK
    clock.advance(timedelta(hours=1))
    assert sla_state(reported, due, clock.now()) == SlaState.BREACHED


def test_time_left_reads_naturally():
    assert format_time_left(2 * 3600 + 5 * 60) == "2h 05m"
    assert format_time_left(14 * 60 + 9) == "14m 09s"
    assert format_time_left(-(3600 + 600)) == "-1h 10m"
    assert format_time_left(3 * 86400 + 7200) == "3d 02h"


# -- against a real replica -----------------------------------------------------------------


@pytest.fixture(scope="module")
def workstation(tmp_path_factory):
    clock = ManualClock(NOW)
    workstation = demo_workstation(tmp_path_factory.mktemp("queue"), clock, cases=600,
                                   with_media=False)
    yield workstation
    workstation.close()


def _all(workstation, query=QueueFilter(), order=QueueOrder(), page=50):
    rows, cursor = [], None
    with workstation.replica.sessions() as session:
        while True:
            batch = fetch_page(session, query, order, workstation.reviewer_id, NOW,
                               after=cursor, limit=page)
            rows.extend(batch)
            if len(batch) < page:
                return rows
            from reviewer.queue.case_queue import PageCursor

            cursor = PageCursor(batch[-1].sort_value, batch[-1].id)


def test_default_order_is_highest_priority_first(workstation):
    rows = _all(workstation)
    weights = PriorityWeights()
    scores = [priority_score(r.priority_key, NOW, weights) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert {r.status for r in rows} <= {"new", "leased"}


@pytest.mark.parametrize("key", list(SortKey))
@pytest.mark.parametrize("descending", [False, True])
def test_pages_walk_every_row_once_in_order(workstation, key, descending):
    order = QueueOrder(key, descending)
    rows = _all(workstation, order=order, page=37)
    with workstation.replica.sessions() as session:
        expected = count_cases(session, QueueFilter(), workstation.reviewer_id, NOW)
    assert len(rows) == expected
    assert len({r.id for r in rows}) == expected
    values = [r.sort_value for r in rows]
    present = [v for v in values if v is not None]
    ascending = order.column_ascending()
    assert present == sorted(present, reverse=not ascending)


def test_filters_combine(workstation):
    query = QueueFilter(channels=("user_report",), surfaces=("organic_post",))
    rows = _all(workstation, query)
    assert rows and all(r.channel == "user_report" and r.surface == "organic_post"
                        for r in rows)
    with workstation.replica.sessions() as session:
        total = count_cases(session, QueueFilter(), None, NOW)
        narrowed = count_cases(session, query, None, NOW)
    assert 0 < narrowed < total


@pytest.mark.parametrize("state", list(SlaState))
def test_sla_filter_matches_each_rows_state(workstation, state):
    rows = _all(workstation, QueueFilter(sla_states=(state,)))
    assert rows, f"the demo has no {state} cases"
    assert all(sla_state(r.reported_at, r.due_at, NOW) == state for r in rows)


def test_mine_only_shows_only_my_leases(workstation):
    with workstation.replica.sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.status == "new")).first()
        case.status, case.lease_holder_id = "leased", workstation.reviewer_id
        case.lease_expires_at = NOW + timedelta(minutes=15)
    rows = _all(workstation, QueueFilter(mine_only=True))
    assert [r.id for r in rows] == [case.id]


def test_search_finds_text_reference_and_notes(workstation):
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == "new")
                               .order_by(Case.external_ref)).first()
    by_ref = _all(workstation, QueueFilter(search=case.external_ref))
    assert [r.id for r in by_ref] == [case.id]
    by_words = _all(workstation, QueueFilter(search="designer watch"))
    assert by_words and all("designer watch" in _text(workstation, r.id).lower()
                            for r in by_words)
    from reviewer.queue.notes import add_note

    add_note(workstation.replica.sessions, case_id=case.id, author_id=workstation.reviewer_id,
             client_id=workstation.client_id, body="Zanzibarian slang, ask Lucía",
             clock=ManualClock(NOW))
    assert [r.id for r in _all(workstation, QueueFilter(search="zanzibar"))] == [case.id]
    assert [r.note_count for r in _all(workstation, QueueFilter(search="zanzibar"))] == [1]


def _text(workstation, case_id):
    case = workstation.case(case_id)
    return f"{case.external_ref} {case.reported_text} {case.reporter_note}"


HOSTILE = [
    "'; DROP TABLE review_case; --",
    '" OR 1=1 --',
    "%", "_", "*", "\\", "NEAR(a b)", "a AND OR NOT b", "body:x", "^start", "(((",
    "x" * 10_240,
    "مرحبا بالعالم",
    "שלום \u202e evil",
    "🙂🔥💀",
    "\x00\x01",
    '""""',
]


@pytest.mark.parametrize("needle", HOSTILE, ids=lambda s: repr(s[:12]))
def test_hostile_search_is_literal_and_never_errors(workstation, needle):
    rows = _all(workstation, QueueFilter(search=needle))
    assert rows == []
    with workstation.replica.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM review_case")) > 0


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(exclude_categories=()), min_size=1, max_size=200))
def test_any_search_text_is_a_valid_query(workstation, needle):
    """Any text at all, lone surrogates included."""
    _all(workstation, QueueFilter(search=needle))  # must not raise


def test_search_query_quotes_every_word():
    assert fts_query('say "hi" now*') == '"say"* """hi"""* "now*"*'
    assert fts_query("   ") is None


def _found(workstation, search):
    """What the reviewer sees after typing ``search``: the queue's rows, and its count."""
    query = QueueFilter(search=search)
    rows = [r.id for r in _all(workstation, query)]
    with workstation.replica.sessions() as session:
        assert count_cases(session, query, workstation.reviewer_id, NOW) == len(rows)
    return rows


@pytest.fixture
def emoji_cases(workstation):
    """Two open cases whose texts hold symbols the search index leaves out of its words:
    one in its reported text, one in a note. The texts are put back afterwards."""
    from reviewer.queue.notes import add_note

    with workstation.replica.sessions.begin() as session:
        first, second = session.scalars(select(Case).where(Case.status == "new")
                                        .order_by(Case.external_ref.desc()).limit(2)).all()
        before = first.reported_text
        first.reported_text = f"{before} 💥 it went off, they paid €5 for it"
    add_note(workstation.replica.sessions, case_id=second.id,
             author_id=workstation.reviewer_id, client_id=workstation.client_id,
             body="the caption is only ❤️, nothing else", clock=ManualClock(NOW))
    yield first.id, second.id
    with workstation.replica.sessions.begin() as session:
        session.get(Case, first.id).reported_text = before


def test_an_emoji_alone_finds_the_cases_that_contain_it(workstation, emoji_cases):
    in_text, in_note = emoji_cases
    assert _found(workstation, "💥") == [in_text]
    assert _found(workstation, " 💥  went ") == [in_text]  # with a word, both must be there
    assert _found(workstation, "💥 zanzibarian") == []
    assert _found(workstation, "€5") == [in_text]
    assert _found(workstation, "€6") == []
    # In a note; with or without the emoji presentation selector.
    assert _found(workstation, "❤️") == [in_note]
    assert _found(workstation, "❤") == [in_note]
    assert _found(workstation, "💥❤️") == []  # a run of symbols is looked for as written


def test_a_lone_surrogate_in_the_search_is_dropped_and_raises_nothing(workstation,
                                                                     emoji_cases):
    """No stored text can hold a lone surrogate (it is not Unicode text), so it finds
    nothing; binding one to SQLite used to raise UnicodeEncodeError in the window."""
    in_text, _ = emoji_cases
    assert _found(workstation, "\ud800") == []
    assert _found(workstation, "\udfff\ud83d") == []
    assert _found(workstation, "watch \udc00") == _found(workstation, "watch") != []
    assert _found(workstation, "💥\ud800") == [in_text]
    # A surrogate pair (text from UTF-16) is the character it stands for.
    assert _found(workstation, "\ud83d\udca5") == [in_text]


def test_queries_use_indexes_not_full_scans(workstation):
    from sqlalchemy.dialects import sqlite

    checks = {
        QueueOrder(SortKey.PRIORITY, True): "ix_review_case_queue_page",
        QueueOrder(SortKey.SLA, False): "ix_review_case_due_at_id",
        QueueOrder(SortKey.CHANNEL, False): "ix_review_case_channel_id",
        QueueOrder(SortKey.AGE, True): "ix_review_case_reported_at_id",
    }
    with workstation.replica.sessions() as session:
        for order, index in checks.items():
            plan = _plan(session, order, sqlite)
            assert index in plan, f"{order}: {plan}"
            assert "USE TEMP B-TREE FOR ORDER BY" not in plan, f"{order} sorts: {plan}"
        search_plan = _plan(session, QueueOrder(), sqlite, QueueFilter(search="watch"))
        assert "VIRTUAL TABLE INDEX" in search_plan and "case_text" in search_plan
        assert "note_text" in search_plan
        # A filtered page is read from the index alone: no table row for status and channel.
        filtered = _plan(session, QueueOrder(), sqlite, QueueFilter(channels=("press",)))
        assert "SCAN review_case USING INDEX ix_review_case_queue_page" in filtered


def _plan(session, order, dialect, query=QueueFilter()):
    from reviewer.queue import case_queue as queue_module
    statement = queue_module._row_statement()
    for condition in queue_module._conditions(query, None, NOW):
        statement = statement.where(condition)
    column_, _ = queue_module._SORT_COLUMNS[order.key]
    asc = order.column_ascending()
    statement = statement.order_by(column_.asc() if asc else column_.desc(),
                                   Case.id.asc() if asc else Case.id.desc()).limit(200)
    compiled = statement.compile(dialect=dialect.dialect(),
                                 compile_kwargs={"literal_binds": True})
    rows = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return " | ".join(str(row[-1]) for row in rows)


def test_reach_points_grow_tenfold_by_weight():
    weights = PriorityWeights()
    low = explain_priority(1, "user_report", 9, NOW, NOW, weights).reach_points
    high = explain_priority(1, "user_report", 99_999, NOW, NOW, weights).reach_points
    assert high - low == pytest.approx(weights.reach * (math.log10(100_000) - 1))


@pytest.mark.parametrize("words", ["watch", "court order", "zanzibar", "RPT-2026000001"])
def test_both_search_plans_return_the_same_pages(workstation, monkeypatch, words):
    from reviewer.queue import case_queue as queue_module
    monkeypatch.setattr(queue_module, "MANY_HITS", 10**9)  # always look each hit up
    by_lookup = [r.id for r in _all(workstation, QueueFilter(search=words), page=7)]
    monkeypatch.setattr(queue_module, "MANY_HITS", -1)  # always walk the sort index
    by_walk = [r.id for r in _all(workstation, QueueFilter(search=words), page=7)]
    assert by_lookup == by_walk
