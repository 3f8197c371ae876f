"""Bring a backend's organisation to what a file says: plan first, then apply in one go.

`current_org` reads the organisation a backend holds (what ``show-org`` prints); `plan_org`
compares it with a file's `Org` and lists the changes as a plan (added, changed, removed)
or refuses, with the reason, a change that would lose work (a queue with open cases);
`apply_org` carries a plan out in the caller's transaction, so a failure anywhere applies
nothing. Queues are matched by code and teams by code, so a rename keeps the row and its
cases. Nothing is ever deleted: a team, queue or person taken out of the file is archived
(a person's account disabled), and putting it back restores it.

On PostgreSQL, a person's login role (``create-user``) follows their role and whether
they are still in the organisation: the group role is changed and NOLOGIN set or lifted,
in the same transaction (role changes are transactional in PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from reviewer.enforcement.escalation import ESCALATION_QUEUE_AREA, escalation_queue_id
from reviewer.org.file import (
    ESCALATION_PREFIX,
    EscalationSpec,
    Org,
    PersonSpec,
    QueueSpec,
    TeamSpec,
    escalation_code,
)
from reviewer.security.audit import BACKEND_ORIGIN, append_audit
from reviewer.security.row_security import GROUP_ROLES
from reviewer.store.changes import next_change_version
from reviewer.store.models import (
    Case,
    LeaseEvent,
    Queue,
    Reviewer,
    ServiceSession,
    Team,
    TeamMembership,
    reviewer_id_for,
)
from reviewer.vocabulary import CaseStatus, EscalationTeam

QUEUE_NAMESPACE = uuid.UUID("8c1f6a3e-2b7d-4e51-a0c4-5f9e3d2b1a77")
OPEN_STATUSES = (CaseStatus.NEW.value, CaseStatus.LEASED.value, CaseStatus.ESCALATED.value)
AUDIT_KIND = "organisation_applied"


def queue_id_for(spec: QueueSpec) -> uuid.UUID:
    """A new queue's id: from its code, so one file gives the same ids on every backend."""
    return uuid.uuid5(QUEUE_NAMESPACE, f"queue:{spec.code}")


class OrgRefused(ValueError):
    """The plan would lose work or cannot be carried out; nothing was applied."""


@dataclass(frozen=True)
class Change:
    sign: str  # "+" added, "~" changed, "-" removed
    kind: str  # team, queue, escalation_team, person
    subject: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        suffix = f": {'; '.join(self.details)}" if self.details else ""
        return f"{self.sign} {self.kind} {self.subject}{suffix}"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def add(self, sign: str, kind: str, subject: str, *details: str) -> None:
        self.changes.append(Change(sign, kind, subject, tuple(details)))

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        return {name: sum(c.sign == sign for c in self.changes)
                for sign, name in (("+", "added"), ("~", "changed"), ("-", "removed"))}

    def summary(self) -> str:
        counts = self.counts()
        return (f"{counts['added']} to add, {counts['changed']} to change, "
                f"{counts['removed']} to remove")


# -- the backend's organisation -----------------------------------------------------------

def _is_escalation(code: str) -> bool:
    return code.startswith(ESCALATION_PREFIX)


def current_org(session: Session) -> Org:
    """The organisation on the backend, as the file would describe it (archived parts and
    disabled people left out)."""
    teams = tuple(TeamSpec(t.code, t.name) for t in session.scalars(
        select(Team).where(Team.archived.is_(False)).order_by(Team.code))
        if not _is_escalation(t.code))
    queues = tuple(_queue_spec(q) for q in session.scalars(
        select(Queue).where(Queue.archived.is_(False)).order_by(Queue.code))
        if not _is_escalation(q.team_code))
    escalations = []
    for team in EscalationTeam:
        row = session.get(Team, escalation_code(team))
        queue = session.get(Queue, escalation_queue_id(team))
        if row is None or queue is None:
            continue
        escalations.append(EscalationSpec(team, row.name, queue.name, float(queue.sla_hours),
                                          dict(queue.sla_hours_by_channel or {})))
    people = tuple(
        PersonSpec(r.username, r.display_name, r.role, tuple(r.team_codes),
                   tuple(r.languages or ()))
        for r in session.scalars(select(Reviewer).where(Reviewer.active.is_(True))
                                 .order_by(Reviewer.username)))
    return Org(teams, queues, tuple(escalations), people)


def _queue_spec(queue: Queue) -> QueueSpec:
    return QueueSpec(queue.code, queue.name, queue.team_code, queue.policy_area,
                     float(queue.sla_hours), dict(queue.sla_hours_by_channel or {}),
                     bool(queue.graphic), bool(queue.offline), tuple(queue.languages or ()),
                     bool(queue.language_routing))


# -- the plan -----------------------------------------------------------------------------

def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_shown(v)}" for k, v in sorted(value.items())) + "}"
    return str(value)


def _differences(before: Any, after: Any, fields: tuple[str, ...]) -> list[str]:
    out = []
    for name in fields:
        old, new = getattr(before, name), getattr(after, name)
        if isinstance(old, dict) or isinstance(new, dict):
            old, new = dict(old), dict(new)
        if old != new:
            out.append(f"{name} {_shown(old)} -> {_shown(new)}")
    return out


_QUEUE_FIELDS = ("name", "team", "policy_area", "sla_hours", "sla_hours_by_channel",
                 "graphic", "offline", "languages", "language_routing")
_PERSON_FIELDS = ("name", "role", "teams", "languages")


def plan_org(session: Session, org: Org, *, prune: bool = True) -> Plan:
    """What applying ``org`` would change; with ``prune`` off nothing is removed (the
    demo seeder's way: add and update, leave the rest)."""
    plan = Plan()
    now = current_org(session)
    teams = {t.code: t for t in now.teams}
    for team in org.teams:
        old = teams.pop(team.code, None)
        if old is None:
            archived = session.get(Team, team.code)
            plan.add("+", "team", team.code, f'"{team.name}"' + (
                " (restored from the archive)" if archived is not None else ""))
        elif old.name != team.name:
            plan.add("~", "team", team.code, f'name "{old.name}" -> "{team.name}"')
    queues = {q.code: q for q in now.queues}
    for queue in org.queues:
        old = queues.pop(queue.code, None)
        if old is None:
            archived = session.scalar(select(Queue).where(Queue.code == queue.code))
            plan.add("+", "queue", queue.code, f'"{queue.name}" in {queue.team}, '
                     f"{queue.policy_area}, SLA {_shown(queue.sla_hours)} h" + (
                         " (restored from the archive)" if archived is not None else ""))
        else:
            details = _differences(old, queue, _QUEUE_FIELDS)
            if details:
                plan.add("~", "queue", queue.code, *details)
    _check_names(session, org, plan)
    escalations = {e.team: e for e in now.escalations}
    for escalation in org.escalations:
        old = escalations.get(escalation.team)
        if old is None:
            plan.add("+", "escalation_team", escalation.team.value,
                     f'"{escalation.name}", queue "{escalation.queue_name}"')
        else:
            details = _differences(old, escalation,
                                   ("name", "queue_name", "sla_hours", "sla_hours_by_channel"))
            if details:
                plan.add("~", "escalation_team", escalation.team.value, *details)
    people = {p.username: p for p in now.people}
    for person in org.people:
        old = people.pop(person.username, None)
        if old is None:
            row = session.scalar(select(Reviewer).where(Reviewer.username == person.username))
            plan.add("+", "person", person.username,
                     f"{person.role} in {', '.join(person.teams) or 'no team'}" + (
                         " (account enabled again)" if row is not None else ""))
        else:
            details = _differences(old, person, _PERSON_FIELDS)
            if details:
                plan.add("~", "person", person.username, *details)
    if prune:
        for code in sorted(teams):
            plan.add("-", "team", code, "archived; its memberships end")
        for code in sorted(queues):
            queue = session.scalar(select(Queue).where(Queue.code == code))
            open_cases = session.scalar(select(func.count()).select_from(Case).where(
                Case.queue_id == queue.id, Case.status.in_(OPEN_STATUSES))) or 0
            if open_cases:
                plan.refusals.append(
                    f"queue {code} (\"{queue.name}\") still has {open_cases:,} open "
                    f"case{'s' if open_cases != 1 else ''}: decide or move them before "
                    "taking the queue out of the organisation")
            closed = session.scalar(select(func.count()).select_from(Case).where(
                Case.queue_id == queue.id)) or 0
            plan.add("-", "queue", code, f"archived; its {closed:,} closed cases stay"
                     if closed else "archived")
        for username in sorted(people):
            plan.add("-", "person", username, "account disabled; their leases go back "
                                              "to the queue")
    return plan


def _check_names(session: Session, org: Org, plan: Plan) -> None:
    """A queue name the file gives must not belong to another queue the file keeps."""
    wanted = {q.name: q.code for q in org.queues}
    for queue in session.scalars(select(Queue)):
        code = wanted.get(queue.name)
        if code is not None and code != queue.code and not _is_escalation(queue.team_code) \
                and not any(q.code == queue.code for q in org.queues):
            plan.refusals.append(
                f"queue name \"{queue.name}\" belongs to queue {queue.code} on the "
                f"backend; give queue {code} another name, or use code {queue.code}")


# -- applying -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplyReport:
    plan: Plan
    version: int | None


def apply_org(session: Session, org: Org, *, now: datetime, prune: bool = True,
              queue_id: Callable[[QueueSpec], uuid.UUID] = queue_id_for,
              actor: str = "admin") -> ApplyReport:
    """Make the backend's organisation ``org``, in the caller's transaction.

    Raises `OrgRefused` (before changing anything) when the plan would lose work."""
    plan = plan_org(session, org, prune=prune)
    if plan.refusals:
        raise OrgRefused("; ".join(plan.refusals))
    if plan.empty:
        return ApplyReport(plan, None)
    version = next_change_version(session)
    _apply_teams(session, org, version, prune)
    _apply_queues(session, org, version, prune, queue_id)
    _apply_escalations(session, org, version)
    _apply_people(session, org, version, prune, now)
    session.flush()
    append_audit(session, origin=BACKEND_ORIGIN, actor_id=None, kind=AUDIT_KIND,
                 subject="organisation", now=now, push=False,
                 details={"by": actor, **plan.counts(),
                          "changes": [str(change) for change in plan.changes][:500]})
    return ApplyReport(plan, version)


def _apply_teams(session: Session, org: Org, version: int, prune: bool) -> None:
    wanted = {t.code: t for t in org.teams}
    for spec in org.teams:
        team = session.get(Team, spec.code)
        if team is None:
            session.add(Team(code=spec.code, name=spec.name, archived=False,
                             change_version=version))
        elif team.name != spec.name or team.archived:
            team.name, team.archived, team.change_version = spec.name, False, version
    session.flush()
    if not prune:
        return
    for team in session.scalars(select(Team).where(Team.archived.is_(False))):
        if team.code not in wanted and not _is_escalation(team.code):
            team.archived, team.change_version = True, version
            for membership in session.scalars(select(TeamMembership).where(
                    TeamMembership.team_code == team.code)):
                session.delete(membership)


def _set(row: Any, version: int, **values: Any) -> None:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.change_version = version


def _apply_queues(session: Session, org: Org, version: int, prune: bool,
                  queue_id: Callable[[QueueSpec], uuid.UUID]) -> None:
    rows = {q.code: q for q in session.scalars(select(Queue))}
    # Names are unique: a queue renamed to a name another queue frees in this plan gets a
    # temporary name first, so the order of the updates does not matter.
    renamed = [spec for spec in org.queues
               if spec.code in rows and rows[spec.code].name != spec.name]
    for spec in renamed:
        rows[spec.code].name = f"~{rows[spec.code].id}"
    session.flush()
    for spec in org.queues:
        values = dict(name=spec.name, team_code=spec.team, policy_area=spec.policy_area,
                      sla_hours=spec.sla_hours,
                      sla_hours_by_channel=dict(spec.sla_hours_by_channel),
                      graphic=spec.graphic, offline=spec.offline,
                      languages=list(spec.languages), language_routing=spec.language_routing,
                      archived=False)
        queue = rows.get(spec.code)
        if queue is None:
            session.add(Queue(id=queue_id(spec), code=spec.code, change_version=version,
                              **values))
        else:
            _set(queue, version, **values)
    session.flush()
    if prune:
        wanted = {q.code for q in org.queues}
        for queue in rows.values():
            if queue.code not in wanted and not queue.archived \
                    and not _is_escalation(queue.team_code):
                queue.archived, queue.change_version = True, version


def _apply_escalations(session: Session, org: Org, version: int) -> None:
    for spec in org.escalations:
        team = session.get(Team, spec.code)
        if team is None:
            session.add(Team(code=spec.code, name=spec.name, change_version=version))
            session.flush()
        else:
            _set(team, version, name=spec.name, archived=False)
        queue = session.get(Queue, escalation_queue_id(spec.team)) or session.scalar(
            select(Queue).where(Queue.team_code == spec.code))
        values = dict(name=spec.queue_name, sla_hours=spec.sla_hours,
                      sla_hours_by_channel=dict(spec.sla_hours_by_channel), archived=False)
        if queue is None:
            session.add(Queue(id=escalation_queue_id(spec.team),
                              code=f"escalations-{spec.team.value.replace('_', '-')}",
                              team_code=spec.code, policy_area=ESCALATION_QUEUE_AREA,
                              graphic=False, offline=True, change_version=version, **values))
        else:
            _set(queue, version, **values)
    session.flush()


def _login_role(session: Session, username: str) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(session.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :n"),
                               {"n": username}))


def _regroup(session: Session, username: str, old_role: str | None, new_role: str) -> None:
    """The person's login role joins the group of their new role and leaves the old one."""
    connection = session.connection()
    for role, group in GROUP_ROLES.items():
        if role != new_role and (old_role is None or role == old_role):
            connection.exec_driver_sql(f'REVOKE {group} FROM "{username}"')
    connection.exec_driver_sql(f'GRANT {GROUP_ROLES[new_role]} TO "{username}"')


def _apply_people(session: Session, org: Org, version: int, prune: bool,
                  now: datetime) -> None:
    for spec in org.people:
        reviewer = session.scalar(select(Reviewer).where(Reviewer.username == spec.username))
        has_login = _login_role(session, spec.username)
        if reviewer is None:
            reviewer = Reviewer(id=reviewer_id_for(spec.username), username=spec.username,
                                display_name=spec.name, role=spec.role,
                                languages=list(spec.languages), active=True,
                                change_version=version)
            session.add(reviewer)
            session.flush()
            if has_login:
                _regroup(session, spec.username, None, spec.role)
        else:
            if has_login and reviewer.role != spec.role:
                _regroup(session, spec.username, reviewer.role, spec.role)
            if has_login and not reviewer.active:
                session.connection().exec_driver_sql(f'ALTER ROLE "{spec.username}" LOGIN')
            _set(reviewer, version, display_name=spec.name, role=spec.role,
                 languages=list(spec.languages), active=True)
        current = {m.team_code: m for m in session.scalars(
            select(TeamMembership).where(TeamMembership.reviewer_id == reviewer.id))}
        for code in spec.teams:
            if code not in current:
                session.add(TeamMembership(reviewer_id=reviewer.id, team_code=code,
                                           change_version=version))
        for code, membership in current.items():
            if code not in spec.teams:
                session.delete(membership)
                reviewer.change_version = version
        if set(current) != set(spec.teams):
            reviewer.change_version = version
    session.flush()
    if not prune:
        return
    wanted = {p.username for p in org.people}
    for reviewer in session.scalars(select(Reviewer).where(Reviewer.active.is_(True))):
        if reviewer.username not in wanted:
            _disable(session, reviewer, version, now)


def _disable(session: Session, reviewer: Reviewer, version: int, now: datetime) -> None:
    """Out of the organisation: the account is inactive, its leases go back to the queue,
    its sessions with the service end and its login role cannot sign in."""
    reviewer.active, reviewer.change_version = False, version
    for case in session.scalars(select(Case).where(
            Case.lease_holder_id == reviewer.id, Case.status == CaseStatus.LEASED.value)
            .order_by(Case.id).with_for_update()):
        case.status, case.lease_holder_id, case.lease_expires_at = CaseStatus.NEW.value, None, None
        case.fencing_token += 1
        case.change_version = version
        session.add(LeaseEvent(case_id=case.id, reviewer_id=reviewer.id, actor_id=None,
                               kind="released", fencing_token=case.fencing_token,
                               reason="left the organisation", at=now,
                               change_version=version))
    session.execute(update(ServiceSession).where(
        ServiceSession.reviewer_id == reviewer.id, ServiceSession.revoked_at.is_(None))
        .values(revoked_at=now))
    if _login_role(session, reviewer.username):
        session.connection().exec_driver_sql(f'ALTER ROLE "{reviewer.username}" NOLOGIN')
