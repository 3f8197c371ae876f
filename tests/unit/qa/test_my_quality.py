"""What the My quality dialog shows, read from a real replica: this reviewer's finished
audits only, newest first, with the auditors' decisions and feedback but not their names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reviewer.qa.metrics import my_quality
from reviewer.store.database import Database, sqlite_url
from tests.helpers.datasets import MONDAY, AuditWorld


@pytest.fixture
def replica(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "quality.sqlite"))
    yield database
    database.dispose()


def test_my_finished_audits_newest_first_and_nobody_elses(replica):
    with replica.writing() as session:
        world = AuditWorld(session)
        kim = world.person("reviewer", "Kim Reviewer")
        lee = world.person("reviewer", "Lee Reviewer")
        world.audit(kim, "P1/remove", "P1/remove", agrees=True)
        world.audit(kim, "P1/remove", "P2/remove", agrees=False, reason="policy_misread",
                    feedback="P2 covers slurs in usernames.", when=MONDAY + timedelta(days=2))
        world.audit(kim, "P1/remove", "P1/no_violation")  # blind part only: not finished
        world.audit(lee, "P3/remove", "P3/remove", agrees=True)
        kim_id, auditor = kim.id, world.auditor.display_name

    quality = my_quality(replica, kim_id)
    assert [(r.your_decision, r.auditor_decision, r.agrees, r.reason_category, r.feedback)
            for r in quality.results] == [
        ("P1/remove", "P2/remove", False, "policy_misread", "P2 covers slurs in usernames."),
        ("P1/remove", "P1/remove", True, None, ""),
    ]
    assert all(r.external_ref.startswith("RPT-") for r in quality.results)
    assert all(auditor not in repr(r) for r in quality.results)
    assert quality.agreement.n == 2 and quality.agreement.too_small
    assert quality.agreement.percent.estimate == 0.5
    assert (quality.agreement.agreed_by_auditor, quality.agreement.disagreed_by_auditor) == (
        1, 1)
    assert quality.golden.n == 0
    assert my_quality(replica, lee.id).agreement.n == 1
