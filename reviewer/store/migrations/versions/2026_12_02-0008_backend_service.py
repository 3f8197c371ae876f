"""backend service: signed-in sessions, intake tokens and receipts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import reviewer.store.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_session',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_service_session_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_service_session'))
    )
    with op.batch_alter_table('service_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_session_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_session_client_id'), ['client_id'], unique=False)
    op.create_table('intake_token',
    sa.Column('id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_intake_token_token_sha256'))
    )
    with op.batch_alter_table('intake_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_token_source'), ['source'], unique=False)
    op.create_table('intake_receipt',
    sa.Column('external_ref', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('case_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('received_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], name=op.f('fk_intake_receipt_case_id_review_case')),
    sa.PrimaryKeyConstraint('external_ref', name=op.f('pk_intake_receipt'))
    )
    with op.batch_alter_table('intake_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_receipt_source'), ['source'], unique=False)


def downgrade() -> None:
    op.drop_table('intake_receipt')
    op.drop_table('intake_token')
    op.drop_table('service_session')
