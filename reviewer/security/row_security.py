"""Who may see and do what on the PostgreSQL team backend, enforced by PostgreSQL itself.

`apply_row_security` (run by ``reviewer-admin init-backend`` after the migrations, every
time, and idempotent) sets up:

- four group roles, ``rw_reviewer``, ``rw_auditor``, ``rw_lead`` and ``rw_admin``: NOLOGIN,
  NOBYPASSRLS, owning nothing. Each person's login role (``reviewer-admin create-user``) is
  a member of exactly one of them and is named like their ``reviewer.username``.
- minimal grants: reading what the app pulls, inserting what it records; UPDATE only on the
  columns a lease or a decision changes; no UPDATE or DELETE on decisions, escalations or
  the audit log for anyone but the table owner (the change counter and the resolving of
  escalations go through SECURITY DEFINER functions that check what they are asked).
- ROW LEVEL SECURITY, enabled and forced, on every table, with policies: reviewers see the
  cases of their teams' queues and their own decisions, and insert decisions only as
  themselves on cases they hold an unexpired lease on (or, flagged as a conflict, one they
  held: a late decision is kept for a lead, never dropped); auditors see the decisions
  sampled for them (blind: not the original decision until they have submitted their own
  review); leads see their teams; admins everything.
- ``rw_sampling_frame``, through which auditors, leads and admins draw audit samples
  without seeing the decisions themselves (see `sampling_frame_sql`).
- a trigger that keeps a plain reviewer's changes to a case to what a lease allows (no
  taking someone else's live lease, no lowering a fencing token).

The tables are owned by the role that runs init-backend: a dedicated owner role, never one
of the app's login roles. Identity comes from ``session_user`` (a SECURITY DEFINER function
sees its owner as ``current_user``), matched to ``reviewer.username`` of an active reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.orm import Session

from reviewer.store.database import talking_to, upgrade_to_head
from reviewer.store.models import (
    Case,
    LeaseEvent,
    Reviewer,
    ServiceSession,
    Team,
    TeamMembership,
    reviewer_id_for,
    utcnow,
)
from reviewer.vocabulary import CaseStatus

GROUP_ROLES = {
    "reviewer": "rw_reviewer",
    "auditor": "rw_auditor",
    "lead": "rw_lead",
    "admin": "rw_admin",
}
"""The reviewer.role values and the PostgreSQL group role each one's login role joins."""

ALL_GROUPS = tuple(GROUP_ROLES.values())
SECURITY_LOCK = 7_311_902
"""Advisory lock held while applying the security setup (two admins take turns)."""

_NO_ROW_SECURITY = frozenset({"alembic_version"})

_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION rw_me() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    -- A person connected as their own login role is who they are. The backend service
    -- connects as the owner and reads for a person by setting rw.acting_user inside the
    -- request's transaction (reviewer.server); nobody else's setting counts.
    SELECT id FROM public.reviewer WHERE active AND username = CASE
        WHEN session_user::text = '{owner}'
            THEN nullif(current_setting('rw.acting_user', true), '')
        ELSE session_user::text END
$$;

CREATE OR REPLACE FUNCTION rw_my_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT role::text FROM public.reviewer WHERE id = (SELECT public.rw_me())
$$;

CREATE OR REPLACE FUNCTION rw_my_queue_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT q.id FROM public.queue q
    JOIN public.team_membership m ON m.team_code = q.team_code
    WHERE m.reviewer_id = (SELECT public.rw_me())
$$;

CREATE OR REPLACE FUNCTION rw_my_escalated_case_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT e.case_id FROM public.escalation e WHERE e.reviewer_id = (SELECT public.rw_me())
$$;

CREATE OR REPLACE FUNCTION rw_my_team_member_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT DISTINCT other.reviewer_id FROM public.team_membership other
    JOIN public.team_membership mine ON mine.team_code = other.team_code
    WHERE mine.reviewer_id = (SELECT public.rw_me())
$$;

CREATE OR REPLACE FUNCTION rw_holds_lease(p_case uuid, p_token bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (SELECT 1 FROM public.review_case c
                   WHERE c.id = p_case AND c.status = 'leased'
                     AND c.lease_holder_id = (SELECT public.rw_me())
                     AND c.lease_expires_at > now()
                     AND c.fencing_token = p_token)
$$;

CREATE OR REPLACE FUNCTION rw_held_lease(p_case uuid, p_token bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (SELECT 1 FROM public.lease_event e
                   WHERE e.case_id = p_case AND e.reviewer_id = (SELECT public.rw_me())
                     AND e.fencing_token = p_token
                     AND e.kind IN ('leased', 'renewed', 'reassigned'))
$$;

CREATE OR REPLACE FUNCTION rw_my_decision_on(p_decision uuid, p_case uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (SELECT 1 FROM public.decision d
                   WHERE d.id = p_decision AND d.case_id = p_case
                     AND d.reviewer_id = (SELECT public.rw_me()))
$$;

CREATE OR REPLACE FUNCTION rw_my_device(p_client text, p_live boolean) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (SELECT 1 FROM public.device d
                   WHERE d.client_id = p_client AND d.reviewer_id = (SELECT public.rw_me())
                     AND (NOT p_live OR d.revoked_at IS NULL))
$$;

CREATE OR REPLACE FUNCTION rw_is_plain_reviewer() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT coalesce(public.rw_my_role() = 'reviewer', false)
$$;

CREATE OR REPLACE FUNCTION rw_next_change_version() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    next_value bigint;
BEGIN
    IF public.rw_me() IS NULL AND NOT pg_has_role(session_user, '{owner}', 'USAGE') THEN
        RAISE EXCEPTION USING MESSAGE = 'no active reviewer account for ' || session_user,
            ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE public.change_counter SET value = value + 1 WHERE id = 1 RETURNING value
        INTO next_value;
    IF next_value IS NULL THEN
        INSERT INTO public.change_counter (id, value) VALUES (1, 1);
        next_value := 1;
    END IF;
    RETURN next_value;
END
$$;

CREATE OR REPLACE FUNCTION rw_resolve_escalations(p_ids uuid[], p_at timestamptz[],
                                                  p_versions bigint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    changed integer;
BEGIN
    -- Only open escalations of cases that are decided now and that the caller may see:
    -- the decision that decided them was checked by the decision table's policies.
    UPDATE public.escalation e SET resolved_at = v.at, change_version = v.version
    FROM unnest(p_ids, p_at, p_versions) AS v(id, at, version)
    JOIN public.review_case c ON true
    WHERE e.id = v.id AND e.resolved_at IS NULL AND c.id = e.case_id
      AND c.status IN ('decided', 'closed')
      AND (pg_has_role(session_user, '{owner}', 'USAGE')
           OR pg_has_role(session_user, 'rw_admin', 'MEMBER')
           OR c.queue_id IN (SELECT public.rw_my_queue_ids()));
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;

CREATE OR REPLACE FUNCTION rw_guard_case_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    me uuid;
BEGIN
    IF NOT public.rw_is_plain_reviewer() THEN
        RETURN NEW;
    END IF;
    me := public.rw_me();
    IF NEW.fencing_token < OLD.fencing_token THEN
        RAISE EXCEPTION 'a fencing token never goes down'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.lease_holder_id IS DISTINCT FROM OLD.lease_holder_id
       AND NEW.lease_holder_id IS NOT NULL AND NEW.lease_holder_id IS DISTINCT FROM me THEN
        RAISE EXCEPTION 'a reviewer can only take a lease for themselves'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status = 'leased' AND OLD.lease_holder_id IS DISTINCT FROM me
       AND OLD.lease_expires_at > now()
       AND (NEW.status IS DISTINCT FROM OLD.status
            OR NEW.lease_holder_id IS DISTINCT FROM OLD.lease_holder_id
            OR NEW.lease_expires_at IS DISTINCT FROM OLD.lease_expires_at
            OR NEW.fencing_token IS DISTINCT FROM OLD.fencing_token
            OR NEW.queue_id IS DISTINCT FROM OLD.queue_id) THEN
        RAISE EXCEPTION 'this case is leased to someone else'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = 'leased' AND NEW.lease_holder_id IS DISTINCT FROM OLD.lease_holder_id
       AND NEW.fencing_token <= OLD.fencing_token THEN
        RAISE EXCEPTION 'a new lease takes a new fencing token'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = 'decided' AND OLD.status IS DISTINCT FROM 'decided'
       AND NOT EXISTS (SELECT 1 FROM public.decision d
                       WHERE d.case_id = OLD.id AND d.reviewer_id = me AND NOT d.conflict) THEN
        RAISE EXCEPTION 'a case is decided only by a decision'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
"""

_FUNCTION_NAMES = (
    "rw_me()", "rw_my_role()", "rw_my_queue_ids()", "rw_my_escalated_case_ids()",
    "rw_my_team_member_ids()",
    "rw_holds_lease(uuid, bigint)", "rw_held_lease(uuid, bigint)",
    "rw_my_decision_on(uuid, uuid)", "rw_my_device(text, boolean)", "rw_is_plain_reviewer()",
    "rw_next_change_version()", "rw_resolve_escalations(uuid[], timestamptz[], bigint[])",
    "rw_stamp_changes(bigint)",
)
_QA_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION rw_score_golden(p_ids uuid[], p_version bigint) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    -- reviewer.qa.golden.score_answer, for decisions on golden cases that were just pushed:
    -- the reviewer who pushed them may not read the golden answers themselves.
    INSERT INTO public.qa_golden_score (id, case_id, decision_id, reviewer_id, match,
                                        scored_at, change_version)
    SELECT gen_random_uuid(), d.case_id, d.id, d.reviewer_id,
           CASE WHEN d.policy_code = g.policy_code AND d.action = g.action THEN 'exact'
                WHEN d.policy_code = g.policy_code THEN 'policy_only'
                WHEN d.action = g.action THEN 'action_only'
                ELSE 'neither' END,
           now(), p_version
    FROM public.decision d JOIN public.qa_golden g ON g.case_id = d.case_id
    WHERE d.id = ANY(p_ids) AND p_version <> 0
      AND (d.reviewer_id = (SELECT public.rw_me()) OR pg_has_role(session_user, '{owner}', 'USAGE')
           OR pg_has_role(session_user, 'rw_admin', 'MEMBER'))
      AND NOT EXISTS (SELECT 1 FROM public.qa_golden_score s WHERE s.decision_id = d.id)
$$;
"""
_QA_FUNCTIONS += r"""
CREATE OR REPLACE FUNCTION rw_my_calibration_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT m.calibration_id FROM public.qa_calibration_member m
    WHERE m.reviewer_id = (SELECT public.rw_me())
$$;

CREATE OR REPLACE FUNCTION rw_calibrations_i_run() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT c.id FROM public.qa_calibration c WHERE c.auditor_id = (SELECT public.rw_me())
$$;
"""
_QA_FUNCTIONS += r"""
CREATE OR REPLACE FUNCTION rw_revealed_decision_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    -- the originals of the caller's submitted blind reviews, and the decisions they corrected
    WITH RECURSIVE chain(id) AS (
        SELECT r.decision_id FROM public.qa_review r
        WHERE r.auditor_id = (SELECT public.rw_me()) AND r.decision_id IS NOT NULL
        UNION
        SELECT d.supersedes_id FROM public.decision d JOIN chain ON d.id = chain.id
        WHERE d.supersedes_id IS NOT NULL)
    SELECT id FROM chain
$$;

CREATE OR REPLACE FUNCTION rw_reveal_original(p_review uuid, p_version bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
-- Once an auditor's blind review is in, row security lets them read the original decision;
-- giving it this push's change version makes their next pull fetch it (it is older than
-- their cursor otherwise). Only for the caller's own review (the owner's: for the review the
-- backend service just stored for its auditor), and only with the version this transaction
-- just took from the change counter.
DECLARE
    changed integer;
BEGIN
    -- (or this transaction's placeholder, negative, which rw_stamp_changes turns into the
    -- version it takes at commit: reviewer.store.changes)
    IF p_version IS NULL OR (p_version >= 0 AND p_version IS DISTINCT FROM
                             (SELECT value FROM public.change_counter WHERE id = 1)) THEN
        RAISE EXCEPTION USING MESSAGE = 'rw_reveal_original: not this push''s change version',
            ERRCODE = 'insufficient_privilege';
    END IF;
    -- the decision and those it corrected (a replica needs the decisions it points to)
    WITH RECURSIVE chain(id) AS (
        SELECT r.decision_id FROM public.qa_review r
        WHERE r.id = p_review AND (r.auditor_id = (SELECT public.rw_me())
                                   OR pg_has_role(session_user, '{owner}', 'USAGE'))
        UNION
        SELECT d.supersedes_id FROM public.decision d JOIN chain ON d.id = chain.id
        WHERE d.supersedes_id IS NOT NULL)
    UPDATE public.decision d SET change_version = p_version
    FROM chain WHERE d.id = chain.id;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;
"""
_QA_FUNCTION_NAMES = ("rw_score_golden(uuid[], bigint)", "rw_my_calibration_ids()",
                      "rw_calibrations_i_run()", "rw_reveal_original(uuid, bigint)",
                      "rw_revealed_decision_ids()")

SAMPLING_FRAME_FUNCTION = "rw_sampling_frame(timestamptz, timestamptz)"
SAMPLER_GROUPS = "rw_auditor, rw_lead, rw_admin"
_SAMPLING_FRAME = r"""
CREATE OR REPLACE FUNCTION rw_sampling_frame(p_since timestamptz, p_until timestamptz)
RETURNS TABLE (decision_id uuid, case_id uuid, reviewer_id uuid, policy_area text,
               created_at timestamptz, reviewer_started_on timestamptz, severe boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
#variable_conflict use_column
DECLARE
    -- the owner's own tools see everything; the service acting for a person is that person
    is_owner boolean := pg_has_role(session_user, '{owner}', 'USAGE')
                        AND public.rw_me() IS NULL;
    everything boolean;
BEGIN
    -- see sampling_frame_sql: who may call this and which decisions they get
    IF NOT is_owner AND coalesce(public.rw_my_role(), '') NOT IN ('auditor', 'lead', 'admin')
    THEN
        RAISE EXCEPTION USING MESSAGE = 'only active auditors, leads and admins draw audit '
            || 'samples', ERRCODE = 'insufficient_privilege';
    END IF;
    everything := is_owner OR public.rw_my_role() = 'admin';
    RETURN QUERY
    SELECT d.id, d.case_id, d.reviewer_id, c.policy_area::text, d.created_at, r.started_on,
           d.action = ANY ({severe})
    FROM public.decision d
    JOIN public.review_case c ON c.id = d.case_id
    JOIN public.reviewer r ON r.id = d.reviewer_id
    WHERE d.created_at >= p_since AND (p_until IS NULL OR d.created_at < p_until)
      AND NOT d.conflict
      AND NOT EXISTS (SELECT 1 FROM public.decision later WHERE later.supersedes_id = d.id)
      AND (everything OR c.queue_id IN (SELECT public.rw_my_queue_ids()))
    ORDER BY d.created_at, d.id;
END
$$;
"""


def shipped_severe_actions() -> tuple[str, ...]:
    """The severe actions of the shipped taxonomy (``severe_actions`` in taxonomy.toml)."""
    from reviewer.policy.taxonomy import load_taxonomy

    return tuple(sorted({str(action) for action in load_taxonomy().severe_actions}))


def sampling_frame_sql(owner: str, severe_actions: tuple[str, ...]) -> str:
    """``rw_sampling_frame(since, until)``: what drawing an audit sample needs, for the
    people who draw samples, whom row-level security would otherwise show too little.

    An auditor sees only the decisions already sampled for them, so they could not draw a
    sample from their own view. This SECURITY DEFINER function gives them the sampling frame
    instead, and nothing more: per standing decision (not superseded, not a conflict) made in
    [since, until) (no upper bound when ``until`` is NULL), its id, case id, reviewer id,
    policy area, time, the reviewer's start date, and whether its action is severe. It never
    returns the action, policy or rationale. ``severe`` is the one bit about the outcome it
    carries, the same bit the ``severe`` method of a severe-oversampled sample shows; the list
    of severe actions is written into the function body here, when an admin runs
    init-backend (from the shipped taxonomy), and is part of the setup's fingerprint; no
    caller can pass another list to probe a decision's action.

    Who gets what: only active members of rw_auditor, rw_lead or rw_admin may call it
    (EXECUTE is revoked from PUBLIC and from rw_reviewer, and the function checks the group
    again). Admins (and the owner) get every decision; auditors and leads get the decisions on
    cases in their own teams' queues (``team_membership``), as leads see those cases anyway.
    An auditor of no team gets nothing (fail closed: create-user requires a team); a QA team
    that audits every team is made a member of every team.
    """
    for action in severe_actions:
        if not re.fullmatch(r"[a-z_]+", action):
            raise ValueError(f"unexpected severe action {action!r}")
    listed = ", ".join(f"'{action}'" for action in severe_actions)
    severe = f"ARRAY[{listed}]::text[]"
    return _SAMPLING_FRAME.replace("{owner}", owner).replace("{severe}", severe)

# Shorthands used in the policies below (each subquery is planned once per statement).
_ME = "(SELECT rw_me())"
_MY_CASES = "(SELECT rw_my_queue_ids())"
# Through review_case's own policies, one primary-key lookup per row: a pull reads only the
# rows that changed, and `case_id IN (SELECT c.id FROM review_case c)` would hash every case
# the person may see, again for each table with a changed row (bench/bench_team_load.py).
_CASE_VISIBLE = "EXISTS (SELECT 1 FROM review_case c WHERE c.id = case_id)"
_TEAM = "rw_reviewer, rw_lead"
_ALL_APP = "rw_reviewer, rw_auditor, rw_lead, rw_admin"

# Table grants per group: {table: {group: privileges}}; columns in parentheses.
_CASE_LEASE_COLUMNS = ("status, lease_holder_id, lease_expires_at, fencing_token, "
                       "updated_at, change_version, queue_id")
_GRANTS: dict[str, dict[str, str]] = {
    # People's roles read, under forced row security; they write nothing. Every change goes
    # through the backend service (reviewer.server), which applies it as the owner after
    # checking the workflow rules (reviewer.sync.appliers).
    table: {"*": "SELECT"}
    for table in ("team", "reviewer", "team_membership", "queue", "change_counter",
                  "review_case", "media_blob", "media_item", "decision", "escalation",
                  "second_review", "note", "case_response", "lease_event", "audit_log",
                  "applied_mutation", "wellness_summary", "wellness_state", "device")
}
_WRITING_FUNCTIONS = ("rw_next_change_version()", "rw_stamp_changes(bigint)",
                      "rw_resolve_escalations(uuid[], timestamptz[], bigint[])",
                      "rw_score_golden(uuid[], bigint)", "rw_reveal_original(uuid, bigint)")
"""Functions that change rows: the owner's (the service's) alone."""


def _versioned_tables(connection: Connection) -> list[str]:
    """The tables whose rows carry a change version (every synced table)."""
    return sorted(connection.execute(text(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'change_version'")).scalars())


def stamp_function_sql(owner: str, tables: list[str]) -> str:
    """``rw_stamp_changes(placeholder)``: take the change counter and give every row this
    transaction wrote with ``placeholder`` (reviewer.store.changes) the version taken. Each
    table's ``change_version`` is indexed, so each statement finds only this transaction's
    rows; the counter is held from here until the commit, which follows at once."""
    updates = "\n".join(
        f"    UPDATE public.{_quote(table)} SET change_version = version "
        "WHERE change_version = p_placeholder;" for table in tables)
    return f"""
CREATE OR REPLACE FUNCTION rw_stamp_changes(p_placeholder bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    version bigint;
BEGIN
    IF NOT pg_has_role(session_user, '{owner}', 'USAGE') THEN
        RAISE EXCEPTION USING MESSAGE = 'rw_stamp_changes is the backend service''s',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_placeholder IS NULL OR p_placeholder >= 0 THEN
        RAISE EXCEPTION USING MESSAGE = 'rw_stamp_changes: a placeholder is negative, not '
            || coalesce(p_placeholder::text, 'null');
    END IF;
    version := public.rw_next_change_version();
{updates}
    RETURN version;
END
$$;
"""


def _policies(owner: str) -> dict[str, list[str]]:
    """CREATE POLICY statement bodies per table: ``name`` ``ON table`` is added."""
    del owner
    visible_by_case = [
        f"rw_team_select FOR SELECT TO {_TEAM} USING ({_CASE_VISIBLE})",
        f"rw_auditor_select FOR SELECT TO rw_auditor USING ({_CASE_VISIBLE})",
    ]
    return {
        "team": [f"rw_read FOR SELECT TO {_ALL_APP} USING (true)"],
        "reviewer": [f"rw_read FOR SELECT TO {_ALL_APP} USING (true)"],
        "team_membership": [f"rw_read FOR SELECT TO {_ALL_APP} USING (true)"],
        "queue": [f"rw_read FOR SELECT TO {_ALL_APP} USING (true)"],
        "change_counter": [f"rw_read FOR SELECT TO {_ALL_APP} USING (true)"],
        "review_case": [
            # and the cases they escalated (routed to another team's queue, say)
            f"rw_team_select FOR SELECT TO {_TEAM} USING (queue_id IN {_MY_CASES} "
            "OR id IN (SELECT rw_my_escalated_case_ids()))",
            f"rw_team_update FOR UPDATE TO {_TEAM} USING (queue_id IN {_MY_CASES}) "
            "WITH CHECK (true)",
            # the cases of the decisions sampled for the auditor (see _qa_policies)
        ],
        "media_item": visible_by_case,
        "media_blob": [
            f"rw_select FOR SELECT TO {_TEAM}, rw_auditor "
            "USING (content_hash IN (SELECT m.content_hash FROM media_item m))",
        ],
        "decision": [
            f"rw_reviewer_select FOR SELECT TO rw_reviewer USING (reviewer_id = {_ME} "
            f"OR (requires_second_review AND {_CASE_VISIBLE}))",
            f"rw_lead_select FOR SELECT TO rw_lead USING ({_CASE_VISIBLE})",
            # reviewers: as themselves, under the unexpired lease they hold; or a late
            # decision flagged as a conflict, under a lease they once held; or a correction
            # of their own decision on that case
            f"rw_reviewer_insert FOR INSERT TO rw_reviewer WITH CHECK (reviewer_id = {_ME} "
            "AND (rw_holds_lease(case_id, fencing_token) "
            "OR (conflict AND rw_held_lease(case_id, fencing_token)) "
            "OR (supersedes_id IS NOT NULL AND rw_my_decision_on(supersedes_id, case_id))))",
            f"rw_lead_insert FOR INSERT TO rw_lead WITH CHECK (reviewer_id = {_ME} "
            f"AND {_CASE_VISIBLE})",
        ],
        "second_review": [
            *visible_by_case,
            f"rw_team_insert FOR INSERT TO {_TEAM} WITH CHECK (reviewer_id = {_ME} "
            f"AND {_CASE_VISIBLE})",
        ],
        "escalation": [
            *visible_by_case,
            f"rw_team_insert FOR INSERT TO {_TEAM} WITH CHECK (reviewer_id = {_ME} "
            f"AND {_CASE_VISIBLE})",
        ],
        "note": [
            *visible_by_case,
            f"rw_team_insert FOR INSERT TO {_TEAM} WITH CHECK (author_id = {_ME} "
            f"AND {_CASE_VISIBLE})",
        ],
        "case_response": [
            *visible_by_case,
            f"rw_team_insert FOR INSERT TO {_TEAM} WITH CHECK (author_id = {_ME} "
            f"AND {_CASE_VISIBLE})",
        ],
        "lease_event": [
            *visible_by_case,
            f"rw_team_insert FOR INSERT TO {_TEAM} WITH CHECK ({_CASE_VISIBLE} AND "
            f"(actor_id = {_ME} OR (kind = 'expired' AND actor_id IS NULL)))",
        ],
        "audit_log": [
            f"rw_own_select FOR SELECT TO {_TEAM}, rw_auditor "
            "USING (rw_my_device(origin, false))",
            f"rw_own_insert FOR INSERT TO {_TEAM}, rw_auditor WITH CHECK "
            f"(rw_my_device(origin, true) AND (actor_id IS NULL OR actor_id = {_ME}))",
            # the backend's own chain: a lead's reassignments are appended to it
            "rw_lead_backend_select FOR SELECT TO rw_lead USING (origin = 'backend')",
            "rw_lead_backend_insert FOR INSERT TO rw_lead WITH CHECK "
            f"(origin = 'backend' AND actor_id = {_ME})",
        ],
        "applied_mutation": [
            f"rw_own_select FOR SELECT TO {_TEAM}, rw_auditor "
            "USING (rw_my_device(client_id, false))",
            f"rw_own_insert FOR INSERT TO {_TEAM}, rw_auditor "
            "WITH CHECK (rw_my_device(client_id, true))",
        ],
        "wellness_summary": [
            f"rw_own FOR ALL TO {_TEAM}, rw_auditor USING (reviewer_id = {_ME}) "
            f"WITH CHECK (reviewer_id = {_ME})",
            # A lead sees no one's figures: the service gives team aggregates only, from
            # three sharers on (reviewer.wellness.exposure.team_aggregate).
        ],
        "wellness_state": [
            f"rw_own FOR ALL TO {_TEAM}, rw_auditor USING (reviewer_id = {_ME}) "
            f"WITH CHECK (reviewer_id = {_ME})",
        ],
        "device": [
            f"rw_own_select FOR SELECT TO {_TEAM}, rw_auditor USING (reviewer_id = {_ME})",
            f"rw_own_insert FOR INSERT TO {_TEAM}, rw_auditor "
            f"WITH CHECK (reviewer_id = {_ME} AND revoked_at IS NULL)",
            f"rw_own_update FOR UPDATE TO {_TEAM}, rw_auditor USING (reviewer_id = {_ME}) "
            f"WITH CHECK (reviewer_id = {_ME})",
        ],
    }


_QA_GRANTS: dict[str, dict[str, str]] = {
    table: {"*": "SELECT"}
    for table in ("qa_calibration", "qa_calibration_member", "qa_sample", "qa_review",
                  "qa_golden", "qa_golden_score")
}


def _qa_policies() -> dict[str, list[str]]:
    """Quality audit (``qa_*``, reviewer.qa): an auditor works on the samples drawn for
    them; the original decision shows only once their blind review is in (see the
    ``rw_auditor_select`` policy on ``decision``); golden answers are never shown to
    reviewers (the backend scores them with ``rw_score_golden``)."""
    # (through definer functions: the two calibration tables' policies name each other)
    my_calibrations = "(SELECT rw_my_calibration_ids())"
    calibrations_i_run = "(SELECT rw_calibrations_i_run())"
    return {
        "qa_calibration": [
            f"rw_auditor_own FOR ALL TO rw_auditor USING (auditor_id = {_ME}) "
            f"WITH CHECK (auditor_id = {_ME})",
            f"rw_member_select FOR SELECT TO rw_reviewer, rw_auditor "
            f"USING (id IN {my_calibrations})",
            "rw_lead_all FOR ALL TO rw_lead USING (true) WITH CHECK (true)",
        ],
        "qa_calibration_member": [
            f"rw_member_select FOR SELECT TO rw_reviewer, rw_auditor "
            f"USING (reviewer_id = {_ME})",
            f"rw_auditor_own FOR ALL TO rw_auditor USING (calibration_id IN {calibrations_i_run}) "
            f"WITH CHECK (calibration_id IN {calibrations_i_run})",
            "rw_lead_all FOR ALL TO rw_lead USING (true) WITH CHECK (true)",
        ],
        "qa_sample": [
            f"rw_auditor_select FOR SELECT TO rw_auditor USING (auditor_id = {_ME})",
            f"rw_auditor_insert FOR INSERT TO rw_auditor "
            f"WITH CHECK (auditor_id = {_ME} AND drawn_by = {_ME})",
            f"rw_auditor_update FOR UPDATE TO rw_auditor USING (auditor_id = {_ME}) "
            f"WITH CHECK (auditor_id = {_ME})",
            f"rw_member_select FOR SELECT TO rw_reviewer USING (reviewer_id = {_ME} "
            f"OR calibration_id IN {my_calibrations})",
            f"rw_lead_select FOR SELECT TO rw_lead USING ({_CASE_VISIBLE})",
            f"rw_lead_insert FOR INSERT TO rw_lead WITH CHECK (drawn_by = {_ME} "
            f"AND {_CASE_VISIBLE})",
            f"rw_lead_update FOR UPDATE TO rw_lead USING ({_CASE_VISIBLE})",
        ],
        "qa_review": [
            f"rw_auditor_select FOR SELECT TO rw_auditor USING (auditor_id = {_ME})",
            f"rw_auditor_insert FOR INSERT TO rw_auditor WITH CHECK (auditor_id = {_ME})",
            # a verdict is given once and never edited
            f"rw_auditor_verdict FOR UPDATE TO rw_auditor USING (auditor_id = {_ME} "
            f"AND verdict_at IS NULL) WITH CHECK (auditor_id = {_ME})",
            # a reviewer sees the review of their decision once it has its verdict
            f"rw_reviewer_select FOR SELECT TO rw_reviewer USING (reviewer_id = {_ME} "
            "AND verdict_at IS NOT NULL)",
            f"rw_lead_select FOR SELECT TO rw_lead USING ({_CASE_VISIBLE})",
        ],
        "qa_golden": [
            # the golden cases the auditor can see (a replica holds no row whose case it
            # lacks)
            f"rw_auditor_select FOR SELECT TO rw_auditor USING ({_CASE_VISIBLE})",
            f"rw_auditor_insert FOR INSERT TO rw_auditor WITH CHECK (auditor_id = {_ME})",
            f"rw_lead_select FOR SELECT TO rw_lead USING ({_CASE_VISIBLE})",
            f"rw_lead_insert FOR INSERT TO rw_lead WITH CHECK ({_CASE_VISIBLE})",
        ],
        "qa_golden_score": [
            f"rw_own_select FOR SELECT TO rw_reviewer USING (reviewer_id = {_ME})",
            f"rw_auditor_select FOR SELECT TO rw_auditor USING ({_CASE_VISIBLE})",
            f"rw_lead_select FOR SELECT TO rw_lead USING ({_CASE_VISIBLE})",
        ],
        # the auditor's extra view of cases and decisions
        "review_case": [
            "rw_auditor_select FOR SELECT TO rw_auditor USING (queue_id IN "
            f"{_MY_CASES} OR id IN (SELECT s.case_id FROM qa_sample s "
            f"WHERE s.auditor_id = {_ME}))",
        ],
        "decision": [
            "rw_auditor_select FOR SELECT TO rw_auditor USING (id IN "
            "(SELECT rw_revealed_decision_ids()))",
        ],
    }


def _quote(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"unexpected name {name!r}")
    return f'"{name}"'


def init_backend(engine: Engine) -> None:
    """Bring a backend's schema to head and, on PostgreSQL, create or refresh its roles,
    grants and row-level security (``reviewer-admin init-backend``, every time)."""
    upgrade_to_head(engine)
    if engine.dialect.name != "postgresql":
        return
    with talking_to(engine.url), engine.begin() as connection:
        apply_row_security(connection)


def apply_row_security(connection: Connection, *,
                       severe_actions: tuple[str, ...] | None = None) -> None:
    """Create or refresh the roles, grants, policies and guards; PostgreSQL only.

    Idempotent: every policy on the app's tables is dropped and made again, every grant to
    the group roles revoked and given again, in the caller's transaction. When the setup is
    already exactly this version's (a fingerprint kept as the comment of ``rw_me()``), nothing
    is changed, so opening a backend does not lock its tables. ``severe_actions`` (default:
    the shipped taxonomy's) are written into ``rw_sampling_frame``.
    """
    if connection.dialect.name != "postgresql":
        return
    severe = (shipped_severe_actions() if severe_actions is None
              else tuple(sorted(set(severe_actions))))
    run = connection.exec_driver_sql
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SECURITY_LOCK})
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    # Checked every time, even when the setup is up to date: a person's account named after
    # the owner would let whoever knows its password sign in to the service as the owner.
    app_login = connection.execute(text(
        "SELECT count(*) > 0 FROM reviewer WHERE username = current_user"
    )).scalar_one() if connection.execute(text(
        "SELECT to_regclass('public.reviewer') IS NOT NULL")).scalar_one() else False
    if app_login:
        raise UserAdminError(
            f"the owner role {owner} is also a person's account: the table owner must be a "
            "dedicated role that nobody signs in to the app with")
    fingerprint = _fingerprint(connection, owner, severe)
    if _applied_fingerprint(connection) == fingerprint:
        return
    for group in ALL_GROUPS:
        run(f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') THEN
                CREATE ROLE {group} NOLOGIN NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$""")
    # (re)set attributes only if they are wrong: ALTER ROLE needs more rights than a check
    for group in ALL_GROUPS:
        bad = connection.execute(text(
            "SELECT rolcanlogin OR rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = :r"),
            {"r": group}).scalar_one()
        if bad:
            run(f"ALTER ROLE {group} NOLOGIN NOBYPASSRLS NOSUPERUSER")
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    groups = ", ".join(ALL_GROUPS)
    owns_database, owns_schema = connection.execute(text(
        "SELECT pg_has_role(current_user, d.datdba, 'USAGE'), "
        "pg_has_role(current_user, n.nspowner, 'USAGE') FROM pg_database d, pg_namespace n "
        "WHERE d.datname = current_database() AND n.nspname = 'public'")).one()
    if owns_database:
        run(f'GRANT CONNECT ON DATABASE "{database}" TO {groups}')
    if owns_schema:  # PostgreSQL 15 and later already refuse CREATE to PUBLIC
        run("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    run(f"GRANT USAGE ON SCHEMA public TO {groups}")
    run("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC")
    run(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {groups}")
    run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, {groups}")

    if not re.fullmatch(r"[A-Za-z0-9_.@-]+", owner):
        raise ValueError(f"unexpected owner role name {owner!r}")
    run(_FUNCTIONS.replace("{owner}", owner))
    run(stamp_function_sql(owner, _versioned_tables(connection)))
    has_qa = connection.execute(text(
        "SELECT count(*) = 2 FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename IN ('qa_golden', 'qa_golden_score')")).scalar_one()
    functions = list(_FUNCTION_NAMES)
    if has_qa:
        run(_QA_FUNCTIONS.replace("{owner}", owner))
        functions += _QA_FUNCTION_NAMES
        run(sampling_frame_sql(owner, severe))
        run(f"REVOKE ALL ON FUNCTION {SAMPLING_FRAME_FUNCTION} FROM PUBLIC, {groups}")
        run(f"GRANT EXECUTE ON FUNCTION {SAMPLING_FRAME_FUNCTION} TO {SAMPLER_GROUPS}")
    for function in (*functions, "rw_guard_case_update()"):
        run(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC, {groups}")
        if function != "rw_guard_case_update()" and function not in _WRITING_FUNCTIONS:
            run(f"GRANT EXECUTE ON FUNCTION {function} TO {groups}")
    run("DROP TRIGGER IF EXISTS rw_guard_case_update ON review_case")
    run("CREATE TRIGGER rw_guard_case_update BEFORE UPDATE ON review_case "
        "FOR EACH ROW EXECUTE FUNCTION rw_guard_case_update()")

    tables = sorted(connection.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    policies = _policies(owner)
    grants = {**_GRANTS, **_QA_GRANTS}
    if "qa_review" in tables:
        for table, rules in _qa_policies().items():
            policies.setdefault(table, []).extend(rules)
    else:  # an auditor sees the cases of their teams' queues until QA exists
        policies["review_case"].append(
            f"rw_auditor_select FOR SELECT TO rw_auditor USING (queue_id IN {_MY_CASES})")
    run("GRANT SELECT ON alembic_version TO " + groups)

    for table in tables:
        if table in _NO_ROW_SECURITY:
            continue
        quoted = _quote(table)
        for (name,) in connection.execute(text(
                "SELECT policyname FROM pg_policies WHERE schemaname = 'public' "
                "AND tablename = :t"), {"t": table}):
            run(f'DROP POLICY "{name}" ON {quoted}')
        run(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
        run(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
        table_owner = connection.execute(text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = :t"),
            {"t": table}).scalar_one()
        # The owner (init-backend, ingest) sees and writes everything; FORCE makes this an
        # explicit policy rather than an implicit bypass.
        run(f'CREATE POLICY rw_owner ON {quoted} FOR ALL TO "{table_owner}" '
            "USING (true) WITH CHECK (true)")
        run(f"CREATE POLICY rw_admin_all ON {quoted} FOR ALL TO rw_admin "
            "USING (true) WITH CHECK (true)")
        for rule in policies.get(table, []):
            name, body = rule.split(" ", 1)
            run(f"CREATE POLICY {name} ON {quoted} {body}")
        for group, privileges in _expand(grants.get(table, {})).items():
            if privileges:
                run(f"GRANT {privileges} ON {quoted} TO {group}")
    # Views (none today) run with the privileges and policies of whoever queries them.
    for (view,) in connection.execute(text(
            "SELECT viewname FROM pg_views WHERE schemaname = 'public'")):
        run(f"ALTER VIEW {_quote(view)} SET (security_invoker = true)")
    # Admins read everything and, like everyone, write nothing themselves: their changes go
    # through the service and the admin commands, which run as the owner.
    for table in tables:
        if table not in _NO_ROW_SECURITY:
            run(f"GRANT SELECT ON {_quote(table)} TO rw_admin")
    _let_owner_read_as_groups(connection, owner)
    run(f"COMMENT ON FUNCTION rw_me() IS '{_fingerprint(connection, owner, severe)}'")


def _let_owner_read_as_groups(connection: Connection, owner: str) -> None:
    """Make the owner (the role the backend service connects as) a member of the group
    roles, so that it can read for a person with ``SET LOCAL ROLE rw_<role>`` and their
    row security. Where PostgreSQL allows (16 and later) the membership neither inherits
    the group's privileges nor could it: the groups hold only SELECT."""
    version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    can = "SET" if version >= 160000 else "MEMBER"
    for group in ALL_GROUPS:
        member = connection.execute(text(
            f"SELECT pg_has_role(current_user, :g, '{can}')"), {"g": group}).scalar_one()
        superuser = connection.execute(text(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
        if member or superuser:
            continue
        if version >= 160000:
            connection.exec_driver_sql(
                f'GRANT {group} TO "{owner}" WITH INHERIT FALSE, SET TRUE')
        else:
            connection.exec_driver_sql(f'GRANT {group} TO "{owner}"')


SECURITY_VERSION = 2
"""Bump when apply_row_security changes in a way its fingerprint would not show."""


def _fingerprint(connection: Connection, owner: str, severe: tuple[str, ...]) -> str:
    """What the setup would be now: this code's rules, the tables and their owners, and the
    severe actions written into the sampling frame."""
    import hashlib

    tables = connection.execute(text(
        "SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, "
        "c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') ORDER BY c.relname")).all()
    groups = connection.execute(text(
        "SELECT rolname, rolcanlogin, rolbypassrls, rolsuper FROM pg_roles "
        "WHERE rolname = ANY(:g) ORDER BY rolname"), {"g": list(ALL_GROUPS)}).all()
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    state = repr((SECURITY_VERSION, owner, database, _FUNCTIONS, _QA_FUNCTIONS, _GRANTS, _QA_GRANTS,
                  _policies(owner), _qa_policies(), [tuple(row[:2]) for row in tables],
                  [tuple(row) for row in groups], sampling_frame_sql(owner, severe),
                  stamp_function_sql(owner, _versioned_tables(connection))))
    return "rw-security " + hashlib.sha256(state.encode()).hexdigest()


def _applied_fingerprint(connection: Connection) -> str | None:
    """The fingerprint of the setup last applied, if it is still whole."""
    unforced = connection.execute(text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> ALL(:skip) "
        "AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"),
        {"skip": list(_NO_ROW_SECURITY)}).scalar_one()
    if unforced:
        return None
    return connection.execute(text(
        "SELECT d.description FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass "
        "WHERE n.nspname = 'public' AND p.proname = 'rw_me'")).scalar()


def _expand(grants: dict[str, str]) -> dict[str, str]:
    """``"*"`` gives every group its privileges unless the group is named on its own."""
    expanded = {group: grants["*"] for group in ALL_GROUPS} if "*" in grants else {}
    expanded.update({group: value for group, value in grants.items() if group != "*"})
    return expanded


def security_is_applied(connection: Connection) -> bool:
    """Whether this backend has the row security set up (init-backend has been run)."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(connection.execute(text(
        "SELECT count(*) = 1 FROM pg_proc WHERE proname = 'rw_next_change_version'"
    )).scalar_one())


# -- login roles: one per person --------------------------------------------------------------

USERNAME_PATTERN = re.compile(r"[a-z_][a-z0-9_.-]{0,62}")
MIN_PASSWORD_LENGTH = 12
SCRAM_ITERATIONS = 4096
"""PostgreSQL's own default (scram_iterations) for the verifiers it makes itself."""


class UserAdminError(RuntimeError):
    """An account could not be created or changed; the message says why in plain words."""


def scram_sha256_verifier(password: str, *, salt: bytes | None = None,
                          iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802 / 7677).

    Computed here so that the password itself is never sent to the server (and so never
    reaches its logs): ``CREATE ROLE ... PASSWORD 'SCRAM-SHA-256$...'`` stores it as is.
    """
    import base64
    import hashlib
    import hmac
    import os
    import unicodedata

    salt = os.urandom(16) if salt is None else salt
    # PostgreSQL applies SASLprep, whose core for ordinary passwords is NFKC.
    normalised = unicodedata.normalize("NFKC", password).encode("utf-8")
    salted = hashlib.pbkdf2_hmac("sha256", normalised, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def check_username(name: str) -> str:
    if not USERNAME_PATTERN.fullmatch(name):
        raise UserAdminError(
            f"{name!r} is not a valid user name: use 1 to 63 lower-case letters, digits, "
            "'_', '.' or '-', starting with a letter or '_'")
    if name.startswith(("rw_", "pg_")) or name in ("postgres", "public", "backend"):
        raise UserAdminError(f"{name!r} is reserved; choose another user name")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserAdminError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _not_permitted(error: Exception) -> UserAdminError | None:
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == "42501":
        first = str(error.orig).splitlines()[0]
        if "to grant role" in first:
            return UserAdminError(
                f"not permitted: {first}; the group roles were made by another role (say, for "
                "another database on this server): a superuser runs 'GRANT rw_reviewer, "
                "rw_auditor, rw_lead, rw_admin TO <owner role> WITH ADMIN OPTION'")
        return UserAdminError(f"not permitted: {first} (run this as the backend's owner role)")
    return None


def create_user(connection: Connection, name: str, *, role: str, teams: list[str],
                display_name: str, password: str, languages: list[str] | None = None) -> None:
    """Create a person's LOGIN role in the group of ``role`` and their Reviewer row and team
    memberships, in the caller's transaction (all or nothing). A person the organisation
    file already added (``apply-org``: an account with no login yet) gets their login, and
    their account takes the role, teams and languages given here."""
    from reviewer.store.changes import next_change_version

    check_username(name)
    check_password(password)
    if role not in GROUP_ROLES:
        raise UserAdminError(f"unknown role {role!r}: choose one of {', '.join(GROUP_ROLES)}")
    if not teams and role != "admin":
        raise UserAdminError("name at least one team with --team")
    if connection.dialect.name != "postgresql":
        raise UserAdminError("accounts are PostgreSQL login roles: name a PostgreSQL backend")
    group = GROUP_ROLES[role]
    existing = set(connection.execute(text(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"),
        {"names": [name, group]}).scalars())
    if group not in existing:
        raise UserAdminError(f"the backend has no role {group} yet: run "
                             "'reviewer-admin init-backend' on it first")
    if name in existing:
        raise UserAdminError(f"a database role named {name!r} already exists")
    session = Session(bind=connection)
    existing_account = session.scalar(select(Reviewer).where(Reviewer.username == name))
    if existing_account is not None and not existing_account.active:
        raise UserAdminError(f"{name!r} is disabled on this backend: put them back in the "
                             "organisation file (apply-org) to enable their account")
    known = set(session.scalars(select(Team.code)))
    unknown = sorted(set(teams) - known)
    if unknown:
        raise UserAdminError(f"unknown team {', '.join(unknown)} (known teams: "
                             f"{', '.join(sorted(known)) or 'none yet'})")
    verifier = scram_sha256_verifier(password)
    try:
        connection.exec_driver_sql(
            f'CREATE ROLE "{name}" LOGIN PASSWORD \'{verifier}\' NOSUPERUSER NOCREATEDB '
            f"NOCREATEROLE NOBYPASSRLS NOREPLICATION IN ROLE {group}")
        version = next_change_version(session)
        reviewer_id = reviewer_id_for(name)
        if existing_account is None:
            session.add(Reviewer(id=reviewer_id, username=name,
                                 display_name=display_name or name, role=role,
                                 languages=list(languages or []), active=True,
                                 change_version=version))
        else:
            reviewer_id = existing_account.id
            existing_account.role, existing_account.change_version = role, version
            existing_account.display_name = display_name or existing_account.display_name
            if languages is not None:
                existing_account.languages = list(languages)
        session.flush()
        members = set(session.scalars(select(TeamMembership.team_code).where(
            TeamMembership.reviewer_id == reviewer_id)))
        for team in sorted(set(teams) - members):
            session.add(TeamMembership(reviewer_id=reviewer_id, team_code=team,
                                       change_version=version))
        session.flush()
    except Exception as error:
        refused = _not_permitted(error)
        if refused is not None:
            raise refused from error
        raise


@dataclass(frozen=True)
class DisableReport:
    sessions_ended: int
    leases_released: int


def disable_user(connection: Connection, name: str, *, commit: Callable[[], None]) -> DisableReport:
    """Take a person's access away at once: their role can no longer log in, their reviewer
    account is inactive (so the policies give an open session nothing), their leases go back
    to the queue, and (after ``commit``) their open sessions are ended."""
    from reviewer.store.changes import next_change_version

    check_username(name)
    session = Session(bind=connection)
    reviewer = session.scalar(select(Reviewer).where(Reviewer.username == name)
                              .with_for_update())
    has_role = connection.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = :n"),
                                  {"n": name}).scalar_one()
    if reviewer is None and not has_role:
        raise UserAdminError(f"there is no user {name!r} on this backend")
    try:
        if has_role:
            connection.exec_driver_sql(f'ALTER ROLE "{name}" NOLOGIN')
        released = tokens = 0
        if reviewer is not None:
            cases = session.scalars(
                select(Case).where(Case.lease_holder_id == reviewer.id,
                                   Case.status == CaseStatus.LEASED.value)
                .order_by(Case.id).with_for_update()).all()
            version = next_change_version(session)
            reviewer.active = False
            reviewer.change_version = version
            now = utcnow()
            for case in cases:
                case.status = CaseStatus.NEW.value
                case.lease_holder_id = None
                case.lease_expires_at = None
                case.fencing_token += 1  # a decision under the old lease is a conflict now
                case.change_version = version
                session.add(LeaseEvent(case_id=case.id, reviewer_id=reviewer.id, actor_id=None,
                                       kind="released", fencing_token=case.fencing_token,
                                       reason="account disabled", at=now,
                                       change_version=version))
            released = len(cases)
            # Their sessions with the backend service end now too (every request checks
            # the account anyway; an ended token stays ended if the account is enabled).
            tokens = session.execute(
                update(ServiceSession).where(ServiceSession.reviewer_id == reviewer.id,
                                             ServiceSession.revoked_at.is_(None))
                .values(revoked_at=now)).rowcount or 0
            session.flush()
    except Exception as error:
        refused = _not_permitted(error)
        if refused is not None:
            raise refused from error
        raise
    commit()
    # Already locked out (NOLOGIN, and an inactive account makes the policies give an open
    # session nothing); ending the sessions also stops whatever they are doing right now.
    try:
        ended = connection.execute(text(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE usename = :n AND pid <> pg_backend_pid()"), {"n": name}).scalar_one()
    except Exception as error:
        refused = _not_permitted(error)
        if refused is None:
            raise
        raise UserAdminError(
            f"{name} can no longer sign in and sees nothing, but their open sessions could "
            "not be ended: grant pg_signal_backend to the owner role") from error
    commit()
    return DisableReport(sessions_ended=int(ended) + tokens, leases_released=released)
