"""Agenda: club workshops and their places, registration questions and answers,
reminders sent, materials after the event, messages to registrants, cancellation.

Revision ID: 2bc33ef22c69
Revises: d8a3f61c2b90
Create Date: 2026-11-22 23:59:54.469912

"""
from alembic import op
import sqlalchemy as sa


revision = '2bc33ef22c69'
down_revision = 'd8a3f61c2b90'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_document',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_event_document_document_id_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_document_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'document_id', name=op.f('pk_event_document'))
    )
    with op.batch_alter_table('event_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_document_document_id'), ['document_id'], unique=False)

    op.create_table('event_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('include_waitlisted', sa.Boolean(), nullable=False),
    sa.Column('recipient_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_event_message_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_message_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_message'))
    )
    with op.batch_alter_table('event_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_message_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_message_event_id'), ['event_id'], unique=False)

    op.create_table('event_reminder',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('offset_minutes', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('recipient_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_reminder_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'offset_minutes', 'starts_at', name=op.f('pk_event_reminder'))
    )
    op.create_table('registration_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('attendance', 'choice', 'multiple', 'text', name='questionkind', native_enum=False, length=40), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('help_text', sa.String(length=500), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_registration_question_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_question'))
    )
    with op.batch_alter_table('registration_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_question_event_id'), ['event_id'], unique=False)

    op.create_table('registration_answer',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['registration_question.id'], name=op.f('fk_registration_answer_question_id_registration_question'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_registration_answer_registration_id_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('registration_id', 'question_id', name=op.f('pk_registration_answer'))
    )
    with op.batch_alter_table('registration_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_answer_question_id'), ['question_id'], unique=False)

    op.create_table('session_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('registered', 'waitlisted', 'cancelled', name='registrationstatus', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('waitlisted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_session_registration_registration_id_registration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['event_session.id'], name=op.f('fk_session_registration_session_id_event_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_registration')),
    sa.UniqueConstraint('session_id', 'registration_id', name=op.f('uq_session_registration_session_id'))
    )
    with op.batch_alter_table('session_registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_registration_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('ix_session_registration_session_id_status_waitlisted_at', ['session_id', 'status', 'waitlisted_at'], unique=False)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_sessions_per_person', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reminder_offsets', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancellation_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('recording_url', sa.String(length=1000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('materials_notified_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('event_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('starts_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ends_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=False, server_default='0'))



def downgrade():
    with op.batch_alter_table('event_session', schema=None) as batch_op:
        batch_op.drop_column('position')
        batch_op.drop_column('ends_at')
        batch_op.drop_column('starts_at')
        batch_op.drop_column('description')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('materials_notified_at')
        batch_op.drop_column('recording_url')
        batch_op.drop_column('cancellation_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('reminder_offsets')
        batch_op.drop_column('max_sessions_per_person')

    with op.batch_alter_table('session_registration', schema=None) as batch_op:
        batch_op.drop_index('ix_session_registration_session_id_status_waitlisted_at')
        batch_op.drop_index(batch_op.f('ix_session_registration_registration_id'))

    op.drop_table('session_registration')
    with op.batch_alter_table('registration_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_answer_question_id'))

    op.drop_table('registration_answer')
    with op.batch_alter_table('registration_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_question_event_id'))

    op.drop_table('registration_question')
    op.drop_table('event_reminder')
    with op.batch_alter_table('event_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_message_event_id'))
        batch_op.drop_index(batch_op.f('ix_event_message_author_id'))

    op.drop_table('event_message')
    with op.batch_alter_table('event_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_document_document_id'))

    op.drop_table('event_document')
