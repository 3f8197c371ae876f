"""The first review loop, as a reviewer does it: select, see blurred media, decide by keyboard."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageStat
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from reviewer.media.render import RenditionSettings
from reviewer.queue.case_queue import QueueFilter, case_ids
from reviewer.store.models import Case, Decision, OutboxEntry
from tests.helpers.gui import (
    make_window,
    select_case_with_media,
    to_pil,
    wait_until_idle,
)


def _open_ids(workstation):
    with workstation.replica.sessions() as session:
        return case_ids(session, QueueFilter())


def _edge_energy(image: Image.Image) -> float:
    """Mean absolute difference between neighbouring pixels: high for sharp detail."""
    shifted = ImageChops.offset(image, 1, 1)
    return ImageStat.Stat(ImageChops.difference(image, shifted)).mean[0]


def test_queue_lists_every_open_case(qtbot, window, workstation):
    ids = _open_ids(workstation)
    assert window.queue_model.rowCount() == len(ids) > 0
    wait_until_idle(qtbot, window.tasks)  # the count is a background task
    assert window.queue_heading.text() == f"Cases: {len(ids)}"


def test_queue_model_passes_qt_model_tester(window, qtmodeltester):
    qtmodeltester.check(window.queue_model)


def test_selecting_a_case_shows_its_text_and_blurred_media(qtbot, window, workstation,
                                                         renderer):
    with qtbot.waitSignal(window.viewer.media_shown, timeout=10_000):
        select_case_with_media(window)
        case = workstation.case(window.current_case_id())
        assert case.external_ref in window.viewer.title.text()
        assert case.reported_text in window.viewer.details.text()

    item = case.media[0]
    data = workstation.media_bytes(item.content_hash)
    shown = to_pil(window.viewer.canvas.grab().toImage())
    view = (shown.width, shown.height)
    sharp = renderer.sharp(data, item.content_hash, view, RenditionSettings()).convert("L")
    blurred = renderer.blurred(data, item.content_hash, view, RenditionSettings())
    shown_energy = _edge_energy(shown)
    # What is on screen is as smooth as the blurred rendition, far from the sharp one.
    assert shown_energy < _edge_energy(sharp) * 0.6
    assert abs(shown_energy - _edge_energy(blurred.convert("L"))) < 1.5


def test_new_item_is_never_painted_sharp_first(qtbot, window):
    with qtbot.waitSignal(window.viewer.media_shown, timeout=10_000):
        select_case_with_media(window)
        # Before the blurred rendition is ready, the canvas holds no image at all.
        assert window.viewer.canvas.image is None
        assert "blurred" in window.viewer.canvas.message
    assert window.viewer.canvas.image is not None


def _decide_by_keyboard(qtbot, window, rationale="Clear match with the policy wording."):
    panel = window.panel
    panel.policy_box.setFocus()
    qtbot.keyClick(panel.policy_box, Qt.Key.Key_Down)
    qtbot.keyClick(window.panel.policy_box, Qt.Key.Key_Tab)
    qtbot.keyClick(panel.action_box, Qt.Key.Key_Down)
    qtbot.keyClick(panel.action_box, Qt.Key.Key_Tab)
    qtbot.keyClicks(panel.rationale, rationale)
    qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_deciding_by_keyboard_records_the_decision_and_the_case_leaves(qtbot, window,
                                                                       workstation):
    before = window.queue_model.rowCount()
    window.queue_view.setFocus()
    qtbot.keyClick(window.queue_view, Qt.Key.Key_Down)
    case_id = window.current_case_id()
    assert case_id is not None
    _decide_by_keyboard(qtbot, window)

    assert window.queue_model.rowCount() == before - 1
    assert window.queue_model.row_of(case_id) is None
    assert "Recorded" in window.panel.confirmation.text()
    with workstation.replica.sessions() as session:
        decision = session.scalar(select(Decision).where(Decision.case_id == case_id))
        assert decision is not None
        assert decision.reviewer_id == workstation.reviewer_id
        assert decision.rationale == "Clear match with the policy wording."
    # The next case is selected, ready for the next decision.
    assert window.current_case_id() not in (None, case_id)
    # And the decision reaches the backend by the background sync.
    wait_until_idle(qtbot, window.tasks)
    with workstation.backend.sessions() as session:
        assert session.get(Decision, decision.id) is not None


def test_five_cases_decided_by_keyboard_survive_a_restart(qtbot, workstation, renderer,
                                                          clock):
    window = make_window(qtbot, workstation, renderer)
    window.queue_view.setFocus()
    qtbot.keyClick(window.queue_view, Qt.Key.Key_Down)
    decided = []
    for _ in range(5):
        decided.append(window.current_case_id())
        _decide_by_keyboard(qtbot, window)
    wait_until_idle(qtbot, window.tasks)
    window.close()
    workstation.close()

    from reviewer.workstation import Workstation

    reopened = Workstation.open_embedded(workstation.paths.root, clock=clock,
                                         secrets=workstation.secrets)
    try:
        again = make_window(qtbot, reopened, renderer)
        for case_id in decided:
            assert again.queue_model.row_of(case_id) is None
        with reopened.replica.sessions() as session:
            count = session.scalar(select(func.count()).select_from(Decision)
                                   .where(Decision.case_id.in_(decided)))
            assert count == 5
        with reopened.backend.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Decision)
                                  .where(Decision.case_id.in_(decided))) == 5
        wait_until_idle(qtbot, again.tasks)
    finally:
        reopened.close()


def test_invalid_submission_is_explained_inline_and_nothing_saved(qtbot, window,
                                                                  workstation):
    window.select_row(0)
    case_id = window.current_case_id()
    qtbot.keyClick(window.panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    error = window.panel.errors["policy"]
    assert error.isVisible()
    assert "choose a policy" in error.text()
    assert window.queue_model.row_of(case_id) is not None
    with workstation.replica.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 0


def test_short_rationale_is_refused_with_the_reason(qtbot, window, workstation):
    window.select_row(0)
    _decide_by_keyboard(qtbot, window, rationale="bad")
    error = window.panel.errors["rationale"]
    assert error.isVisible() and "at least" in error.text()
    assert window.panel.rationale.hasFocus()
    with workstation.replica.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Decision)
                              .where(Decision.case_id == window.current_case_id())) == 0


def test_window_remembers_its_geometry(qtbot, workstation, renderer):
    window = make_window(qtbot, workstation, renderer)
    window.resize(1180, 580)
    window.close()
    again = make_window(qtbot, workstation, renderer, size=None)
    assert (again.width(), again.height()) == (1180, 580)


def test_case_status_in_backend_after_sync_matches(qtbot, window, workstation):
    window.select_row(0)
    case_id = window.current_case_id()
    _decide_by_keyboard(qtbot, window)
    wait_until_idle(qtbot, window.tasks)
    with workstation.backend.sessions() as session:
        assert session.get(Case, case_id).status == "decided"
