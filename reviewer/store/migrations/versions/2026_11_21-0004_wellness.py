"""wellness

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 20:55:53.460018
"""

from alembic import op
import sqlalchemy as sa
import reviewer.store.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wellness_state',
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('reviewer_id', name=op.f('pk_wellness_state'))
    )
    op.create_table('wellness_summary',
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('exposure_s', sa.Float(), nullable=False),
    sa.Column('graphic_queue_s', sa.Float(), nullable=False),
    sa.Column('breaks_taken', sa.Integer(), nullable=False),
    sa.Column('updated_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('change_version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_wellness_summary_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('reviewer_id', 'day', name=op.f('pk_wellness_summary'))
    )
    with op.batch_alter_table('wellness_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wellness_summary_change_version'), ['change_version'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('wellness_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wellness_summary_change_version'))

    op.drop_table('wellness_summary')
    op.drop_table('wellness_state')
