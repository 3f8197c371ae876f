"""Sync between SQLite replicas and a PostgreSQL backend: the real deployment's path."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from reviewer.queue.leases import lease_case
from reviewer.store.models import (
    AppliedMutation,
    Case,
    Decision,
    MediaBlob,
    MediaItem,
    Note,
    OutboxEntry,
    Reviewer,
)
from reviewer.sync.appliers import Mutation, apply_mutations
from reviewer.sync.engine import Connection
from tests.helpers.pg_workstations import (
    count,
    decide,
    open_case_ids,
    open_workstation,
    seed_backend,
)


def test_pull_brings_cases_media_and_people_into_the_replica(pg_url, tmp_path, clock):
    seed_backend(pg_url, clock, cases=12, with_media=True)
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        seen = []
        report = workstation.sync.sync_once(lambda done, total: seen.append((done, total)))
        assert report.pulled_rows > 0 and seen[-1][0] == seen[-1][1]
        assert workstation.sync.status().connection is Connection.ONLINE
        for model in (Case, MediaItem, MediaBlob, Decision, Reviewer):
            assert count(workstation.replica, model) == count(workstation.backend, model) > 0
        with workstation.backend.sessions() as remote:
            blob = remote.scalars(select(MediaBlob)).first()
            data = blob.data
        assert workstation.media_bytes(blob.content_hash) == data
        assert workstation.reviewer().display_name == "Demo Reviewer"
        case_id = open_case_ids(workstation.replica, 1)[0]
        with workstation.backend.sessions() as remote:
            there = remote.get(Case, case_id)
        here = workstation.case(case_id)
        assert (here.due_at, here.reported_at, here.queue_id) == \
            (there.due_at, there.reported_at, there.queue_id)
        assert here.due_at.tzinfo is not None
    finally:
        workstation.close()


def test_a_decision_reaches_postgresql_exactly_once(pg_url, tmp_path, clock):
    seed_backend(pg_url, clock, cases=20)
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        workstation.synchronise()
        decision = decide(workstation, open_case_ids(workstation.replica, 1)[0])
        report = workstation.synchronise()
        assert report.pushed == 1 and report.pending == 0
        with workstation.backend.sessions() as remote:
            stored = remote.get(Decision, decision.id)
            case = remote.get(Case, decision.case_id)
        assert stored is not None and stored.conflict is False
        assert case.status == "decided"
        # A replay (the answer was lost) has no second effect; a forged reuse is refused.
        with workstation.replica.sessions() as local:
            entry = local.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == decision.id))
        replay = Mutation(entry.mutation_id, entry.client_id, entry.seq, entry.kind,
                          entry.payload)
        forged = Mutation(entry.mutation_id, entry.client_id, entry.seq, entry.kind,
                          {**entry.payload, "action": "remove"})
        with workstation.backend.sessions.begin() as remote:
            (again,) = apply_mutations(remote, [replay])
            (refused,) = apply_mutations(remote, [forged])
        assert again.outcome == "applied"
        assert refused.outcome == "rejected" and "different payload" in refused.reason
        assert count(workstation.backend, Decision, Decision.id == decision.id) == 1
        assert count(workstation.backend, AppliedMutation) == 1
    finally:
        workstation.close()


def test_a_rejected_mutation_is_kept_with_its_reason_and_does_not_block(pg_url, tmp_path,
                                                                        clock):
    seed_backend(pg_url, clock, cases=20)
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        workstation.synchronise()
        with workstation.replica.sessions.begin() as local:
            local.add(OutboxEntry(
                client_id=workstation.client_id, kind="note", entity_id=uuid.uuid4(),
                created_at=clock.now(),
                payload={"id": str(uuid.uuid4()), "case_id": str(uuid.uuid4()),
                         "author_id": str(workstation.reviewer_id), "body": "orphan",
                         "created_at": clock.now().isoformat()}))
        decision = decide(workstation, open_case_ids(workstation.replica, 1)[0])
        report = workstation.synchronise()
        assert (report.rejected, report.pushed, report.pending) == (1, 1, 0)
        with workstation.replica.sessions() as local:
            rejected = local.scalar(select(OutboxEntry).where(OutboxEntry.state == "rejected"))
        assert "does not exist" in rejected.last_error
        assert count(workstation.backend, Decision, Decision.id == decision.id) == 1
        assert count(workstation.backend, Note, Note.body == "orphan") == 0
    finally:
        workstation.close()


def _integrity_case(workstation) -> uuid.UUID:  # type: ignore[no-untyped-def]
    from reviewer.store.models import Queue

    with workstation.backend.sessions() as remote:
        queues = select(Queue.id).where(Queue.team_code == "integrity")
        return remote.scalars(select(Case.id).where(Case.status == "new",
                                                    Case.queue_id.in_(queues))
                              .order_by(Case.external_ref)).first()


def test_two_reviewers_decide_one_case_after_an_offline_lease_expiry(pg_url, tmp_path, clock):
    """Amara leases a case and goes offline; her lease runs out and Jonas takes and decides
    the case; Amara decides it offline and comes back. Both decisions are kept, hers flagged."""
    seed_backend(pg_url, clock, cases=40)
    amara = open_workstation(tmp_path / "amara", pg_url, clock, username="amara")
    jonas = open_workstation(tmp_path / "jonas", pg_url, clock, username="jonas")
    try:
        case_id = _integrity_case(amara)
        lease = lease_case(amara.backend, case_id, amara.reviewer_id, clock)
        amara.synchronise()  # her replica knows her lease (and its fencing token)
        clock.advance(timedelta(minutes=20))  # offline: the lease runs out
        jonas_lease = lease_case(jonas.backend, case_id, jonas.reviewer_id, clock)
        assert jonas_lease.fencing_token > lease.fencing_token
        jonas.synchronise()
        theirs = decide(jonas, case_id)
        assert jonas.synchronise().pushed == 1
        clock.advance(timedelta(minutes=5))
        hers = decide(amara, case_id)  # still offline: her replica says she holds it
        report = amara.synchronise()
        assert report.pushed == 1 and report.rejected == 0
        with amara.backend.sessions() as remote:
            decisions = {d.id: d for d in remote.scalars(
                select(Decision).where(Decision.case_id == case_id))}
        assert set(decisions) == {hers.id, theirs.id}
        assert decisions[hers.id].conflict is True
        assert decisions[hers.id].fencing_token == lease.fencing_token
        assert decisions[theirs.id].conflict is False
        # Both replicas end up with both decisions.
        jonas.synchronise()
        for workstation in (amara, jonas):
            assert count(workstation.replica, Decision, Decision.case_id == case_id) == 2
    finally:
        amara.close()
        jonas.close()


USERS = ["demo", "amara", "jonas", "lucia", "sofia", "admin", "demo", "amara", "jonas",
         "sofia"]


def test_ten_clients_syncing_at_once(pg_url, tmp_path, clock):
    """Ten workstations (threads, each with its own replica) take cases, decide and sync
    at the same time: every decision lands once, nobody gets another's case, and every
    replica ends with the backend's state."""
    seed_backend(pg_url, clock, cases=200)
    workstations = [open_workstation(tmp_path / f"ws{i}", pg_url, clock, username=user)
                    for i, user in enumerate(USERS)]
    start = threading.Barrier(len(workstations))
    errors: list[BaseException] = []
    made: dict[int, list[uuid.UUID]] = {i: [] for i in range(len(workstations))}

    def work(index: int) -> None:
        workstation = workstations[index]
        try:
            workstation.synchronise()
            start.wait(30)
            for _ in range(4):
                lease = workstation.get_next_case()
                assert lease is not None
                made[index].append(decide(workstation, lease.case_id).id)
                workstation.synchronise()
        except BaseException as error:  # reported below, with the thread's name
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,), name=f"client-{i}")
               for i in range(len(workstations))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        for workstation in workstations:
            workstation.synchronise()
        ours = [d for ids in made.values() for d in ids]
        assert len(ours) == 40
        with workstations[0].backend.sessions() as remote:
            stored = remote.execute(select(Decision.id, Decision.case_id, Decision.conflict)
                                    .where(Decision.id.in_(ours))).all()
            twice = remote.execute(select(Decision.case_id).group_by(Decision.case_id)
                                   .having(func.count() > 1)).all()
            backend_decisions = set(remote.scalars(select(Decision.id)))
        assert sorted(d.id for d in stored) == sorted(ours)
        assert len({d.case_id for d in stored}) == 40, "two clients got the same case"
        assert not [d for d in stored if d.conflict] and twice == []
        for workstation in workstations:
            with workstation.replica.sessions() as local:
                assert set(local.scalars(select(Decision.id))) == backend_decisions
            assert workstation.sync.status().connection is Connection.ONLINE
    finally:
        for workstation in workstations:
            workstation.close()



def test_a_stale_decision_pushed_first_leaves_the_new_holder_working(pg_url, tmp_path,
                                                                      clock):
    """Amara's decision on her expired lease reaches the backend before Jonas decides: it is
    kept as a conflict, and Jonas keeps his lease and decides normally."""
    seed_backend(pg_url, clock, cases=40)
    amara = open_workstation(tmp_path / "amara", pg_url, clock, username="amara")
    jonas = open_workstation(tmp_path / "jonas", pg_url, clock, username="jonas")
    try:
        case_id = _integrity_case(amara)
        lease_case(amara.backend, case_id, amara.reviewer_id, clock)
        amara.synchronise()
        clock.advance(timedelta(minutes=20))
        lease_case(jonas.backend, case_id, jonas.reviewer_id, clock)
        jonas.synchronise()
        hers = decide(amara, case_id)
        amara.synchronise()
        with amara.backend.sessions() as remote:
            case = remote.get(Case, case_id)
            assert remote.get(Decision, hers.id).conflict is True
        assert case.status == "leased" and case.lease_holder_id == jonas.reviewer_id
        theirs = decide(jonas, case_id)
        jonas.synchronise()
        with jonas.backend.sessions() as remote:
            assert remote.get(Decision, theirs.id).conflict is False
    finally:
        amara.close()
        jonas.close()


def test_a_mutation_the_database_refuses_is_rejected_and_does_not_block(pg_url, tmp_path,
                                                                        clock):
    seed_backend(pg_url, clock, cases=20)
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        workstation.synchronise()
        case_id = open_case_ids(workstation.replica, 1)[0]
        with workstation.replica.sessions.begin() as local:
            local.add(OutboxEntry(
                client_id=workstation.client_id, kind="note", entity_id=uuid.uuid4(),
                created_at=clock.now(),
                payload={"id": str(uuid.uuid4()), "case_id": str(case_id),
                         "author_id": str(uuid.uuid4()), "body": "by nobody we know",
                         "created_at": clock.now().isoformat()}))
        decision = decide(workstation, case_id)
        report = workstation.synchronise()
        assert (report.rejected, report.pushed, report.pending) == (1, 1, 0)
        assert count(workstation.backend, Decision, Decision.id == decision.id) == 1
    finally:
        workstation.close()
