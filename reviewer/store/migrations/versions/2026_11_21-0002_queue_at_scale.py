"""queue at scale

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:10:19.683844
"""

from alembic import op
import sqlalchemy as sa
import reviewer.store.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lease_event',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('actor_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('fencing_token', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("kind IN ('leased', 'renewed', 'released', 'skipped', 'expired', 'reassigned')", name=op.f('ck_lease_event_kind')),
    sa.ForeignKeyConstraint(['actor_id'], ['reviewer.id'], name=op.f('fk_lease_event_actor_id_reviewer')),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_lease_event_case_id_review_case')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_lease_event_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lease_event'))
    )
    with op.batch_alter_table('lease_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lease_event_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lease_event_change_version'), ['change_version'], unique=False)

    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority_key', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('at_risk_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_review_case_at_risk_at_id'), ['at_risk_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_channel_id'), ['channel', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_due_at_id'), ['due_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_language_id'), ['language', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_lease_holder_id_id'), ['lease_holder_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_media_count_id'), ['media_count', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_policy_area_id'), ['policy_area', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_priority_key_id'), ['priority_key', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_reported_at_id'), ['reported_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_status_priority_key_id'), ['status', 'priority_key', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_case_surface_id'), ['surface', 'id'], unique=False)



    fill_derived_queue_fields()
    if op.get_bind().dialect.name == "sqlite":
        create_search_index()


def fill_derived_queue_fields() -> None:
    """Cases written before this revision get their priority key and at-risk time."""
    from reviewer.queue.case_queue import PriorityWeights, derive_queue_fields

    cases = sa.table(
        "review_case", sa.column("id", reviewer.store.models.GUID()), sa.column("severity"),
        sa.column("channel"), sa.column("reach"),
        sa.column("reported_at", reviewer.store.models.UTCDateTime()),
        sa.column("due_at", reviewer.store.models.UTCDateTime()), sa.column("priority_key"),
        sa.column("at_risk_at", reviewer.store.models.UTCDateTime()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(cases.c.id, cases.c.severity, cases.c.channel,
                                  cases.c.reach, cases.c.reported_at, cases.c.due_at)).all()
    if not rows:
        return
    weights = PriorityWeights()
    update = cases.update().where(cases.c.id == sa.bindparam("case_id", type_=cases.c.id.type))
    bind.execute(update, [
        {"case_id": row.id, **{k: v for k, v in derive_queue_fields(dict(row._mapping), weights)
                               .items() if k in ("priority_key", "at_risk_at")}}
        for row in rows
    ])


# The replica's search: one FTS5 row per searchable text of a case (its reference, text and
# reporter's note; each handoff note), kept current by triggers.
SEARCH_INDEX_SQL = [
    """CREATE VIRTUAL TABLE case_search USING fts5(
        case_id UNINDEXED, source UNINDEXED, body,
        tokenize = 'unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER case_search_case_insert AFTER INSERT ON review_case BEGIN
        INSERT INTO case_search (case_id, source, body) VALUES (new.id, 'case',
            new.external_ref || ' ' || new.reported_text || ' ' || new.reporter_note);
    END""",
    """CREATE TRIGGER case_search_case_update AFTER UPDATE OF external_ref, reported_text,
        reporter_note ON review_case BEGIN
        DELETE FROM case_search WHERE case_id = old.id AND source = 'case';
        INSERT INTO case_search (case_id, source, body) VALUES (new.id, 'case',
            new.external_ref || ' ' || new.reported_text || ' ' || new.reporter_note);
    END""",
    """CREATE TRIGGER case_search_case_delete AFTER DELETE ON review_case BEGIN
        DELETE FROM case_search WHERE case_id = old.id;
    END""",
    """CREATE TRIGGER case_search_note_insert AFTER INSERT ON note BEGIN
        INSERT INTO case_search (case_id, source, body) VALUES (new.case_id, new.id, new.body);
    END""",
    """CREATE TRIGGER case_search_note_update AFTER UPDATE OF body ON note BEGIN
        DELETE FROM case_search WHERE source = old.id;
        INSERT INTO case_search (case_id, source, body) VALUES (new.case_id, new.id, new.body);
    END""",
    """INSERT INTO case_search (case_id, source, body)
        SELECT id, 'case', external_ref || ' ' || reported_text || ' ' || reporter_note
        FROM review_case""",
    """INSERT INTO case_search (case_id, source, body) SELECT case_id, id, body FROM note""",
]


def create_search_index() -> None:
    for statement in SEARCH_INDEX_SQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("case_insert", "case_update", "case_delete", "note_insert",
                        "note_update"):
            op.execute(f"DROP TRIGGER IF EXISTS case_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS case_search")
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_case_surface_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_status_priority_key_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_reported_at_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_priority_key_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_policy_area_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_media_count_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_lease_holder_id_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_language_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_due_at_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_channel_id'))
        batch_op.drop_index(batch_op.f('ix_review_case_at_risk_at_id'))
        batch_op.drop_column('at_risk_at')
        batch_op.drop_column('priority_key')

    with op.batch_alter_table('lease_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lease_event_change_version'))
        batch_op.drop_index(batch_op.f('ix_lease_event_case_id'))

    op.drop_table('lease_event')
