"""enforcement escalation audit

Four-eyes verdicts (second_review), replies to partners, press and regulators
(case_response), the hash-chained audit log (audit_log), and whether a decision needs a
second reviewer (decision.requires_second_review; false for decisions made before).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 20:27:57.140960
"""

from alembic import op
import sqlalchemy as sa
import reviewer.store.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('origin', 'seq', name=op.f('uq_audit_log_origin_seq'))
    )
    op.create_table('case_response',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('author_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['reviewer.id'], name=op.f('fk_case_response_author_id_reviewer')),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_case_response_case_id_review_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_response'))
    )
    with op.batch_alter_table('case_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_response_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_response_change_version'), ['change_version'], unique=False)

    op.create_table('second_review',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('decision_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("verdict IN ('approved', 'rejected')", name=op.f('ck_second_review_verdict')),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_second_review_case_id_review_case')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_second_review_decision_id_decision')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_second_review_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_second_review'))
    )
    with op.batch_alter_table('second_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_second_review_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_second_review_change_version'), ['change_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_second_review_decision_id'), ['decision_id'], unique=False)

    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_second_review', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_column('requires_second_review')

    with op.batch_alter_table('second_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_second_review_decision_id'))
        batch_op.drop_index(batch_op.f('ix_second_review_change_version'))
        batch_op.drop_index(batch_op.f('ix_second_review_case_id'))

    op.drop_table('second_review')
    with op.batch_alter_table('case_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_response_change_version'))
        batch_op.drop_index(batch_op.f('ix_case_response_case_id'))

    op.drop_table('case_response')
    op.drop_table('audit_log')
