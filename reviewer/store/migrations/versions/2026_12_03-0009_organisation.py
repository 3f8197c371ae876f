"""organisation as a file: queue codes, per-channel SLAs, offline and language settings,
archived teams and queues

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000
"""

import re

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _code(name: str, taken: set[str]) -> str:
    """A queue's code made from its name, as reviewer.store.models.code_for makes it."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56] or "queue"
    code, n = base, 2
    while code in taken:
        code, n = f"{base}-{n}", n + 1
    taken.add(code)
    return code


def upgrade() -> None:
    # Plain ADD COLUMN on both dialects: SQLite's batch mode would copy the queue table,
    # which the cases point at, and a populated replica could not commit that.
    op.add_column('team', sa.Column('archived', sa.Boolean(), nullable=False,
                                    server_default=sa.false()))
    op.add_column('queue', sa.Column('code', sa.String(length=64), nullable=False,
                                     server_default=''))
    op.add_column('queue', sa.Column('sla_hours_by_channel', sa.JSON(), nullable=False,
                                     server_default='{}'))
    op.add_column('queue', sa.Column('offline', sa.Boolean(), nullable=False,
                                     server_default=sa.true()))
    op.add_column('queue', sa.Column('languages', sa.JSON(), nullable=False,
                                     server_default='[]'))
    op.add_column('queue', sa.Column('language_routing', sa.Boolean(), nullable=False,
                                     server_default=sa.true()))
    op.add_column('queue', sa.Column('archived', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    connection = op.get_bind()
    taken: set[str] = set()
    rows = connection.execute(sa.text("SELECT id, name FROM queue ORDER BY name")).all()
    for queue_id, name in rows:
        connection.execute(sa.text("UPDATE queue SET code = :code WHERE id = :id"),
                           {"code": _code(name, taken), "id": queue_id})
    op.create_index('uq_queue_code', 'queue', ['code'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_queue_code', 'queue')
    with op.batch_alter_table('queue', schema=None) as batch_op:
        for column in ('archived', 'language_routing', 'languages', 'offline',
                       'sla_hours_by_channel', 'code'):
            batch_op.drop_column(column)
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_column('archived')
