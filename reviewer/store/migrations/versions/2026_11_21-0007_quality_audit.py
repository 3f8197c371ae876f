"""quality audit: samples, blind re-reviews, golden cases, calibration sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 23:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import reviewer.store.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qa_calibration',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('auditor_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('created_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_qa_calibration_status')),
    sa.ForeignKeyConstraint(['auditor_id'], ['reviewer.id'], name=op.f('fk_qa_calibration_auditor_id_reviewer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_calibration'))
    )
    with op.batch_alter_table('qa_calibration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_calibration_auditor_id'), ['auditor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_calibration_change_version'), ['change_version'], unique=False)

    op.create_table('qa_calibration_member',
    sa.Column('calibration_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['calibration_id'], ['qa_calibration.id'], name=op.f('fk_qa_calibration_member_calibration_id_qa_calibration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_qa_calibration_member_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('calibration_id', 'reviewer_id', name=op.f('pk_qa_calibration_member'))
    )
    with op.batch_alter_table('qa_calibration_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_calibration_member_change_version'), ['change_version'], unique=False)

    op.create_table('qa_golden',
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('policy_code', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('auditor_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('marked_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['auditor_id'], ['reviewer.id'], name=op.f('fk_qa_golden_auditor_id_reviewer')),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_qa_golden_case_id_review_case')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_qa_golden'))
    )
    with op.batch_alter_table('qa_golden', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_golden_auditor_id'), ['auditor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_golden_change_version'), ['change_version'], unique=False)

    op.create_table('qa_golden_score',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('decision_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('match', sa.String(length=16), nullable=False),
    sa.Column('scored_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("match IN ('exact', 'policy_only', 'action_only', 'neither')", name=op.f('ck_qa_golden_score_match')),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_qa_golden_score_case_id_review_case')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_qa_golden_score_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_golden_score')),
    sa.UniqueConstraint('decision_id', name=op.f('uq_qa_golden_score_decision_id'))
    )
    with op.batch_alter_table('qa_golden_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_golden_score_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_golden_score_change_version'), ['change_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_golden_score_reviewer_id'), ['reviewer_id'], unique=False)

    op.create_table('qa_sample',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('decision_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('auditor_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('rate', sa.Float(), nullable=True),
    sa.Column('seed', sa.BigInteger(), nullable=True),
    sa.Column('draw', sa.Float(), nullable=True),
    sa.Column('drawn_by', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('drawn_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('calibration_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("method IN ('random', 'severe', 'new_reviewer', 'targeted', 'golden', 'calibration')", name=op.f('ck_qa_sample_method')),
    sa.CheckConstraint("status IN ('pending', 'reviewed', 'cancelled')", name=op.f('ck_qa_sample_status')),
    sa.ForeignKeyConstraint(['auditor_id'], ['reviewer.id'], name=op.f('fk_qa_sample_auditor_id_reviewer')),
    sa.ForeignKeyConstraint(['calibration_id'], ['qa_calibration.id'], name=op.f('fk_qa_sample_calibration_id_qa_calibration')),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_qa_sample_case_id_review_case')),
    sa.ForeignKeyConstraint(['drawn_by'], ['reviewer.id'], name=op.f('fk_qa_sample_drawn_by_reviewer')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_qa_sample_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_sample')),
    sa.UniqueConstraint('calibration_id', 'case_id', 'auditor_id', name=op.f('uq_qa_sample_calibration_id_case_id_auditor_id')),
    sa.UniqueConstraint('decision_id', 'auditor_id', name=op.f('uq_qa_sample_decision_id_auditor_id'))
    )
    with op.batch_alter_table('qa_sample', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_sample_auditor_id'), ['auditor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_sample_calibration_id'), ['calibration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_sample_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_sample_change_version'), ['change_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_sample_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_sample_reviewer_id'), ['reviewer_id'], unique=False)

    op.create_table('qa_review',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('sample_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('auditor_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('decision_id', reviewer.store.models.GUID(length=36), nullable=True),
    sa.Column('policy_code', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('submitted_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('agrees', sa.Boolean(), nullable=True),
    sa.Column('reason_category', sa.String(length=32), nullable=True),
    sa.Column('feedback', sa.Text(), nullable=False),
    sa.Column('verdict_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("reason_category IS NULL OR reason_category IN ('policy_misread', 'wrong_action', 'missed_context', 'evidence', 'other')", name=op.f('ck_qa_review_reason_category')),
    sa.ForeignKeyConstraint(['auditor_id'], ['reviewer.id'], name=op.f('fk_qa_review_auditor_id_reviewer')),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_qa_review_case_id_review_case')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_qa_review_reviewer_id_reviewer')),
    sa.ForeignKeyConstraint(['sample_id'], ['qa_sample.id'], name=op.f('fk_qa_review_sample_id_qa_sample')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_review')),
    sa.UniqueConstraint('sample_id', name=op.f('uq_qa_review_sample_id'))
    )
    with op.batch_alter_table('qa_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_review_auditor_id'), ['auditor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_review_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_review_change_version'), ['change_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_review_reviewer_id'), ['reviewer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('qa_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_review_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_qa_review_change_version'))
        batch_op.drop_index(batch_op.f('ix_qa_review_case_id'))
        batch_op.drop_index(batch_op.f('ix_qa_review_auditor_id'))

    op.drop_table('qa_review')
    with op.batch_alter_table('qa_sample', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_sample_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_qa_sample_decision_id'))
        batch_op.drop_index(batch_op.f('ix_qa_sample_change_version'))
        batch_op.drop_index(batch_op.f('ix_qa_sample_case_id'))
        batch_op.drop_index(batch_op.f('ix_qa_sample_calibration_id'))
        batch_op.drop_index(batch_op.f('ix_qa_sample_auditor_id'))

    op.drop_table('qa_sample')
    with op.batch_alter_table('qa_golden_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_golden_score_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_qa_golden_score_change_version'))
        batch_op.drop_index(batch_op.f('ix_qa_golden_score_case_id'))

    op.drop_table('qa_golden_score')
    with op.batch_alter_table('qa_golden', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_golden_change_version'))
        batch_op.drop_index(batch_op.f('ix_qa_golden_auditor_id'))

    op.drop_table('qa_golden')
    with op.batch_alter_table('qa_calibration_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_calibration_member_change_version'))

    op.drop_table('qa_calibration_member')
    with op.batch_alter_table('qa_calibration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_calibration_change_version'))
        batch_op.drop_index(batch_op.f('ix_qa_calibration_auditor_id'))

    op.drop_table('qa_calibration')
