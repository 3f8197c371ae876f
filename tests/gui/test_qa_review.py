"""Blind re-review in the Audit window and the reviewer's My quality view, in a real window
over real workstations (SQLite replicas on one embedded backend)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import delete, select

from reviewer.demo.seed import REVIEWERS, demo_reviewer_id
from reviewer.qa.sampling import SamplingPolicy
from reviewer.qa.store import create_calibration, draw_sample
from reviewer.store.changes import next_change_version
from reviewer.store.database import sqlite_url
from reviewer.store.models import Case, Decision, OutboxEntry, QaReview, QaSample, Reviewer
from reviewer.workstation import Workstation
from tests.helpers.gui import make_window, wait_active, wait_until_idle
from ui.qa.my_quality import MyQualityDialog
from ui.qa.review import AuditWindow, QualityActions, collect_visible_texts

pytestmark = [pytest.mark.qt_log_ignore("This plugin does not support"),
              pytest.mark.demo(cases=30)]

MEI = demo_reviewer_id("mei")
CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
OFFLINE_URL = "postgresql+psycopg://nobody@127.0.0.1:9/nowhere"
FEEDBACK = "The caption gives the context: read it before choosing the action."


@pytest.fixture
def workstation(workstation, clock):
    """The demo reviewer's workstation (30 cases, with media); the backend holds audit
    samples for Mei."""
    with workstation.backend.writing() as session:
        draw_sample(session, workstation.taxonomy, auditor_id=MEI,
                    drawn_by=demo_reviewer_id("sofia"), since=clock.now() - timedelta(days=30),
                    clock=clock, seed=5, policy=SamplingPolicy(base_rate=1.0),
                    version=next_change_version(session))
    return workstation


def _auditor(workstation, clock, url=None) -> Workstation:
    return Workstation.open(workstation.paths.root / "mei", clock=clock, username="mei",
                            backend_url=url or sqlite_url(workstation.paths.backend),
                            secrets=workstation.secrets)


@pytest.fixture
def auditor(workstation, clock):
    mei = _auditor(workstation, clock)
    mei.synchronise()
    yield mei
    mei.close()


def _original(workstation, sample_id):
    with workstation.backend.sessions() as session:
        sample = session.get(QaSample, sample_id)
        decision = session.get(Decision, sample.decision_id)
        name = session.get(Reviewer, decision.reviewer_id).display_name
    return decision, name


def _open_audit(qtbot, window) -> AuditWindow:
    quality = window.findChild(QualityActions)
    quality.audit_action.trigger()
    audit = quality.audit
    qtbot.waitExposed(audit)
    audit.activateWindow()
    wait_active(qtbot, audit)
    return audit


def _decide_blind(qtbot, audit, policy_index=1, action_index=1):
    audit.policy_box.setCurrentIndex(policy_index)
    audit.action_box.setCurrentIndex(action_index)
    audit.rationale.setFocus()
    qtbot.keyClicks(audit.rationale, "Seen in full: matches the policy definition.")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return, CTRL)


def test_nothing_names_the_original_or_its_reviewer_before_the_blind_decision(
        qtbot, workstation, auditor, renderer):
    window = make_window(qtbot, auditor, renderer)
    audit = _open_audit(qtbot, window)
    assert audit.model.rowCount() >= 3
    reviewer_names = [name for _, name, role, _, _ in REVIEWERS if role == "reviewer"]
    for row in range(audit.model.rowCount()):
        audit.select_row(row)
        item = audit.model.row_at(row)
        decision, name = _original(workstation, item.sample.sample_id)
        wait_until_idle(qtbot, window.tasks)  # its media rendered, or found missing
        assert audit.viewer.canvas.image is not None \
            or audit.viewer.canvas.message != "Preparing a blurred view…"
        texts = "\n".join([*collect_visible_texts(audit), window.windowTitle()])
        for reviewer_name in reviewer_names:
            assert reviewer_name not in texts
        assert decision.rationale not in texts
        assert "Original decision" not in texts and "decided by" not in texts
        assert not audit.verdict_form.isVisible()
        assert audit.original_label.text() == ""  # not even hidden away in the window

    # After the auditor's own decision, and only then, the original is there.
    audit.select_row(0)
    sample_id = audit.model.row_at(0).sample.sample_id
    decision, name = _original(workstation, sample_id)
    _decide_blind(qtbot, audit)
    assert audit.verdict_form.isVisible()
    texts = "\n".join(collect_visible_texts(audit))
    assert name in texts and decision.rationale in texts
    wait_until_idle(qtbot, window.tasks)


def test_the_original_appears_after_the_sync_that_follows_the_blind_decision(
        qtbot, workstation, auditor, renderer):
    """On a team backend the auditor's replica gets the original only once their blind
    decision has reached the backend; the window shows it after that sync by itself."""
    window = make_window(qtbot, auditor, renderer)
    audit = _open_audit(qtbot, window)
    audit.select_row(0)
    sample_id = audit.model.row_at(0).sample.sample_id
    decision, name = _original(workstation, sample_id)
    with auditor.replica.writing() as session:  # as row security leaves the replica
        session.execute(delete(Decision).where(Decision.id == decision.id))
    _decide_blind(qtbot, audit)
    assert "not on this workstation yet" in audit.original_label.text()
    assert name not in "\n".join(collect_visible_texts(audit))
    # The sync the blind decision asked for brings the original back (its version is new).
    wait_until_idle(qtbot, window.tasks, timeout=20_000)
    assert name in audit.original_label.text()
    assert decision.rationale in "\n".join(collect_visible_texts(audit))
    assert audit.verdict_button.isEnabled()
    wait_until_idle(qtbot, window.tasks)


def test_verdict_with_feedback_recorded_offline_then_sent(qtbot, workstation, auditor, clock,
                                                          renderer, tmp_path):
    auditor.close()
    offline = _auditor(workstation, clock, OFFLINE_URL)
    try:
        window = make_window(qtbot, offline, renderer)
        audit = _open_audit(qtbot, window)
        before = audit.model.rowCount()
        sample_id = audit.model.row_at(0).sample.sample_id
        _decide_blind(qtbot, audit)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_D, ALT)
        assert audit.disagree_radio.isChecked() and audit.reason_box.isEnabled()
        # Disagreeing without a reason is refused, in words next to the form.
        audit.reason_box.setCurrentIndex(0)
        audit.submit()
        assert audit.verdict_error.isVisible() and "reason" in audit.verdict_error.text()
        audit.reason_box.setCurrentIndex(audit.reason_box.findData("missed_context"))
        audit.feedback.setPlainText(FEEDBACK)
        qtbot.keyClick(audit, Qt.Key.Key_Return, CTRL)
        assert "Verdict recorded" in audit.confirmation.text()
        assert audit.model.rowCount() == before - 1
        wait_until_idle(qtbot, window.tasks)
        with offline.replica.sessions() as session:
            kinds = list(session.scalars(
                select(OutboxEntry.kind).where(OutboxEntry.state == "pending")
                .order_by(OutboxEntry.seq)))
        assert kinds == ["qa_review", "qa_verdict"]
        assert offline.sync.status().failures >= 1  # it tried, and the backend was away
        window.close()
    finally:
        offline.close()
    # Back online: the queued work reaches the backend, once.
    online = _auditor(workstation, clock)
    try:
        report = online.synchronise()
        assert (report.pushed, report.rejected, report.pending) == (2, 0, 0)
    finally:
        online.close()
    with workstation.backend.sessions() as session:
        review = session.scalar(select(QaReview).where(QaReview.sample_id == sample_id))
    assert (review.agrees, review.reason_category, review.feedback) == (
        False, "missed_context", FEEDBACK)


def test_my_quality_shows_results_intervals_and_feedback(qtbot, workstation, auditor, clock,
                                                         renderer):
    window = make_window(qtbot, auditor, renderer)
    audit = _open_audit(qtbot, window)
    # Mei audits one of the demo reviewer's own decisions.
    row = next(r for r in range(audit.model.rowCount())
               if _original(workstation, audit.model.row_at(r).sample.sample_id)[0].reviewer_id
               == workstation.reviewer_id)
    audit.select_row(row)
    _decide_blind(qtbot, audit)
    audit.disagree_radio.setChecked(True)
    audit.reason_box.setCurrentIndex(audit.reason_box.findData("policy_misread"))
    audit.feedback.setPlainText(FEEDBACK)
    audit.submit_verdict()
    wait_until_idle(qtbot, window.tasks)
    auditor.synchronise()
    workstation.synchronise()

    dialog = MyQualityDialog(workstation)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.model.rowCount() == 1
    texts = "\n".join(collect_visible_texts(dialog))
    assert FEEDBACK in texts and "Disagree" in texts and "Policy misread" in texts
    assert "95% interval" in dialog.agreement_value.text()
    assert dialog.warning.isVisible() and "fewer than 30" in dialog.warning.text()
    assert "Mei" not in texts  # auditors are not named to the reviewer


def test_a_calibration_item_is_answered_blind_and_has_no_verdict(qtbot, workstation, clock,
                                                                 renderer):
    with workstation.backend.sessions() as session:
        case_ids = list(session.scalars(select(Case.id).order_by(Case.external_ref).limit(2)))
    with workstation.backend.writing() as session:
        create_calibration(session, name="Week 47 calibration", auditor_id=MEI,
                           case_ids=case_ids, member_ids=[MEI, demo_reviewer_id("amara")],
                           version=next_change_version(session), now=clock.now())
    mei = _auditor(workstation, clock)
    try:
        mei.synchronise()
        window = make_window(qtbot, mei, renderer)
        audit = _open_audit(qtbot, window)
        row = next(r for r in range(audit.model.rowCount())
                   if audit.model.row_at(r).sample.method == "calibration")
        label = audit.model.data(audit.model.index(row, 2))
        assert label == "Calibration: Week 47 calibration"
        before = audit.model.rowCount()
        audit.select_row(row)
        _decide_blind(qtbot, audit)
        assert "calibration" in audit.confirmation.text()
        assert not audit.verdict_form.isVisible()
        assert audit.model.rowCount() == before - 1
        wait_until_idle(qtbot, window.tasks)
        window.close()
    finally:
        mei.close()


def test_a_lead_draws_a_sample_in_the_app_and_it_reaches_the_backend(qtbot, workstation,
                                                                      clock, renderer):
    sofia = Workstation.open(workstation.paths.root / "sofia", clock=clock, username="sofia",
                             backend_url=sqlite_url(workstation.paths.backend),
                             secrets=workstation.secrets)
    try:
        sofia.synchronise()
        window = make_window(qtbot, sofia, renderer)
        audit = _open_audit(qtbot, window)
        assert audit.model.rowCount() == 0 and "Nothing to re-review" in audit.empty_label.text()
        with qtbot.waitSignal(audit.drawing.drawn, timeout=10_000):
            audit.start_draw(clock.now() - timedelta(days=30), 0.5, 77)
        assert audit.draw_button.isEnabled()
        drawn = audit.model.rowCount()
        assert drawn > 0 and "seed 77" in audit.confirmation.text()
        wait_until_idle(qtbot, window.tasks)
        sofia.synchronise()
        with workstation.backend.sessions() as session:
            stored = list(session.scalars(select(QaSample).where(
                QaSample.auditor_id == demo_reviewer_id("sofia"))))
        assert len(stored) == drawn and {s.seed for s in stored} == {77}
        window.close()
    finally:
        sofia.close()


def test_drawing_a_sample_offline_on_a_team_backend_says_it_needs_the_backend(
        qtbot, workstation, auditor, clock, renderer):
    # Mei's workstation on a PostgreSQL team backend that cannot be reached: the sample is
    # drawn there (her replica does not hold the decisions), so offline it cannot be.
    auditor.close()
    mei = _auditor(workstation, clock, OFFLINE_URL)
    try:
        window = make_window(qtbot, mei, renderer)
        audit = _open_audit(qtbot, window)
        with qtbot.waitSignal(audit.drawing.failed, timeout=30_000):
            audit.start_draw(clock.now() - timedelta(days=30), 0.5, 77)
        assert audit.draw_button.isEnabled()
        assert audit.notice.isVisible()
        assert audit.notice.text().startswith(
            "Drawing a sample needs the team backend; you are offline")
        assert audit.confirmation.text() == ""
        with mei.replica.sessions() as session:
            assert session.scalar(select(QaSample).where(
                QaSample.drawn_by == MEI)) is None
            assert session.scalar(select(OutboxEntry).where(
                OutboxEntry.state == "pending")) is None
        wait_until_idle(qtbot, window.tasks)
        window.close()
    finally:
        mei.close()
