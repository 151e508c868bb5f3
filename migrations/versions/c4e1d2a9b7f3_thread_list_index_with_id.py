"""The group page's thread list reads its order from one index: pinned, last
message, then id (the tie-break), instead of sorting every thread of the group

Revision ID: c4e1d2a9b7f3
Revises: 7bffccb0bdff
Create Date: 2026-11-23 10:12:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4e1d2a9b7f3'
down_revision = '7bffccb0bdff'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.create_index('ix_thread_group_id_pinned_last_message_at_id', ['group_id', 'pinned', 'last_message_at', 'id'], unique=False)
        batch_op.drop_index('ix_thread_group_id_pinned_last_message_at')


def downgrade():
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.create_index('ix_thread_group_id_pinned_last_message_at', ['group_id', 'pinned', 'last_message_at'], unique=False)
        batch_op.drop_index('ix_thread_group_id_pinned_last_message_at_id')
