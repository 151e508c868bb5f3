"""Working groups and their discussions: groups, axes, membership, join requests,
threads, messages, revisions, attachments, reads, subscriptions; documents of a group

Revision ID: 7bffccb0bdff
Revises: a09b78729331
Create Date: 2026-11-22 21:46:10.469803

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7bffccb0bdff'
down_revision = 'a09b78729331'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('working_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_working_group_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_working_group')),
    sa.UniqueConstraint('name', name=op.f('uq_working_group_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_working_group_slug'))
    )
    with op.batch_alter_table('working_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_working_group_archived_at'), ['archived_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_working_group_created_by_id'), ['created_by_id'], unique=False)

    op.create_table('group_axis',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('axis_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['axis_id'], ['axis.id'], name=op.f('fk_group_axis_axis_id_axis'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['working_group.id'], name=op.f('fk_group_axis_group_id_working_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'axis_id', name=op.f('pk_group_axis'))
    )
    with op.batch_alter_table('group_axis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_axis_axis_id'), ['axis_id'], unique=False)

    op.create_table('group_membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('is_animator', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('notification', sa.Enum('each', 'digest', 'none', name='notificationpreference', native_enum=False, length=40), nullable=False),
    sa.Column('read_up_to_message_id', sa.Integer(), nullable=False),
    sa.Column('digest_sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['working_group.id'], name=op.f('fk_group_membership_group_id_working_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_group_membership_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_membership')),
    sa.UniqueConstraint('group_id', 'user_id', name=op.f('uq_group_membership_group_id'))
    )
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_membership_user_id'), ['user_id'], unique=False)

    op.create_table('join_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'refused', 'withdrawn', name='joinrequeststatus', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_join_request_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['working_group.id'], name=op.f('fk_join_request_group_id_working_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_join_request_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_request'))
    )
    with op.batch_alter_table('join_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_request_decided_by_id'), ['decided_by_id'], unique=False)
        batch_op.create_index('ix_join_request_group_id_status', ['group_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_request_user_id'), ['user_id'], unique=False)

    op.create_table('thread',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_message_at', sa.DateTime(), nullable=False),
    sa.Column('last_message_id', sa.Integer(), nullable=True),
    sa.Column('message_count', sa.Integer(), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_thread_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['working_group.id'], name=op.f('fk_thread_group_id_working_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread'))
    )
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_thread_group_id_pinned_last_message_at', ['group_id', 'pinned', 'last_message_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_thread_last_message_id'), ['last_message_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('edited_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_message_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['user.id'], name=op.f('fk_message_deleted_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thread_id'], ['thread.id'], name=op.f('fk_message_thread_id_thread'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message')),
    sa.UniqueConstraint('thread_id', 'number', name=op.f('uq_message_thread_id'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_deleted_by_id'), ['deleted_by_id'], unique=False)
        batch_op.create_index('ix_message_thread_id_id', ['thread_id', 'id'], unique=False)

    op.create_table('thread_read',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('last_read_message_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['thread.id'], name=op.f('fk_thread_read_thread_id_thread'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_thread_read_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_read')),
    sa.UniqueConstraint('user_id', 'thread_id', name=op.f('uq_thread_read_user_id'))
    )
    with op.batch_alter_table('thread_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_read_thread_id'), ['thread_id'], unique=False)

    op.create_table('thread_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('author', 'participant', 'mention', 'manual', name='subscriptionreason', native_enum=False, length=40), nullable=False),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['thread.id'], name=op.f('fk_thread_subscription_thread_id_thread'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_thread_subscription_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_subscription')),
    sa.UniqueConstraint('thread_id', 'user_id', name=op.f('uq_thread_subscription_thread_id'))
    )
    with op.batch_alter_table('thread_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_subscription_user_id'), ['user_id'], unique=False)

    op.create_table('message_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('format', sa.Enum('pdf', 'docx', 'doc', 'odt', 'xlsx', 'ods', 'pptx', 'odp', 'csv', 'txt', 'png', 'jpeg', name='fileformat', native_enum=False, length=40), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_attachment_message_id_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attachment'))
    )
    with op.batch_alter_table('message_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_attachment_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_attachment_sha256'), ['sha256'], unique=False)

    op.create_table('message_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('edited_by_id', sa.Integer(), nullable=True),
    sa.Column('edited_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['edited_by_id'], ['user.id'], name=op.f('fk_message_revision_edited_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_revision_message_id_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_revision'))
    )
    with op.batch_alter_table('message_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_revision_edited_by_id'), ['edited_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_revision_message_id'), ['message_id'], unique=False)

    # thread and message point at each other: the last message's key can only
    # be added once both tables exist.
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_thread_last_message_id_message'), 'message', ['last_message_id'], ['id'], ondelete='SET NULL',
        )

    # No group existed before: a group id a document may hold points nowhere.
    op.execute("UPDATE document SET group_id = NULL WHERE group_id IS NOT NULL")
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_document_group_id_working_group'), 'working_group', ['group_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_document_group_id_working_group'), type_='foreignkey')

    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_thread_last_message_id_message'), type_='foreignkey')

    with op.batch_alter_table('message_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_revision_message_id'))
        batch_op.drop_index(batch_op.f('ix_message_revision_edited_by_id'))

    op.drop_table('message_revision')
    with op.batch_alter_table('message_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_message_attachment_message_id'))

    op.drop_table('message_attachment')
    with op.batch_alter_table('thread_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_subscription_user_id'))

    op.drop_table('thread_subscription')
    with op.batch_alter_table('thread_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_read_thread_id'))

    op.drop_table('thread_read')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_thread_id_id')
        batch_op.drop_index(batch_op.f('ix_message_deleted_by_id'))
        batch_op.drop_index(batch_op.f('ix_message_author_id'))

    op.drop_table('message')
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_last_message_id'))
        batch_op.drop_index('ix_thread_group_id_pinned_last_message_at')
        batch_op.drop_index(batch_op.f('ix_thread_author_id'))

    op.drop_table('thread')
    with op.batch_alter_table('join_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_request_user_id'))
        batch_op.drop_index('ix_join_request_group_id_status')
        batch_op.drop_index(batch_op.f('ix_join_request_decided_by_id'))

    op.drop_table('join_request')
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_membership_user_id'))

    op.drop_table('group_membership')
    with op.batch_alter_table('group_axis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_axis_axis_id'))

    op.drop_table('group_axis')
    with op.batch_alter_table('working_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_working_group_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_working_group_archived_at'))

    op.drop_table('working_group')
