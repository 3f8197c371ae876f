"""devices: each workstation's replica, so an admin can revoke it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 22:40:00.000000
"""

from alembic import op
import sqlalchemy as sa
import reviewer.store.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('reviewer_id', reviewer.store.models.GUID(length=36), nullable=False),
    sa.Column('registered_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', reviewer.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewer.id'], name=op.f('fk_device_reviewer_id_reviewer')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_device'))
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_reviewer_id'), ['reviewer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_reviewer_id'))
    op.drop_table('device')
