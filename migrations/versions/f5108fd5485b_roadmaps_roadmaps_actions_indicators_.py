"""Roadmaps ("feuilles de route"): roadmaps per territory and period, their actions
under the axes, indicators (national list, per-roadmap, targets, reported values),
fiche 5 budget lines, governance partners, attached documents, frozen submitted
versions and the national team's comments. New tables only.

Revision ID: f5108fd5485b
Revises: 2bc33ef22c69
Create Date: 2026-11-23 01:39:04.473419

"""
from alembic import op
import sqlalchemy as sa


revision = 'f5108fd5485b'
down_revision = '2bc33ef22c69'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('indicator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('is_shared', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator')),
    sa.UniqueConstraint('name', name=op.f('uq_indicator_name'))
    )
    op.create_table('roadmap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('start_year', sa.Integer(), nullable=False),
    sa.Column('end_year', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'validated', 'returned', name='roadmapstatus', native_enum=False, length=40), nullable=False),
    sa.Column('context', sa.Text(), nullable=False),
    sa.Column('strategy', sa.Text(), nullable=False),
    sa.Column('budget_note', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('validated_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('end_year >= start_year', name=op.f('ck_roadmap_period_ordered')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_roadmap_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_roadmap_territory_id_territory'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_roadmap_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap')),
    sa.UniqueConstraint('territory_id', 'start_year', name=op.f('uq_roadmap_territory_id'))
    )
    with op.batch_alter_table('roadmap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roadmap_start_year'), ['start_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_roadmap_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_roadmap_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('budget_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('coordinator', 'engineering', 'social_intervention', 'social_observation', 'monitoring_evaluation', 'communication', name='budgetlinekind', native_enum=False, length=40), nullable=False),
    sa.Column('actions', sa.Text(), nullable=False),
    sa.Column('total_cost_cents', sa.BigInteger(), nullable=False),
    sa.Column('territory_share_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('territory_share_cents >= 0 AND territory_share_cents <= total_cost_cents', name=op.f('ck_budget_line_territory_share_within_total')),
    sa.CheckConstraint('total_cost_cents >= 0', name=op.f('ck_budget_line_total_cost_positive')),
    sa.ForeignKeyConstraint(['roadmap_id'], ['roadmap.id'], name=op.f('fk_budget_line_roadmap_id_roadmap'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_line')),
    sa.UniqueConstraint('roadmap_id', 'kind', name=op.f('uq_budget_line_roadmap_id'))
    )
    op.create_table('roadmap_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_id', sa.Integer(), nullable=False),
    sa.Column('axis_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('origin', sa.Enum('new', 'existing', name='actionorigin', native_enum=False, length=40), nullable=False),
    sa.Column('lead_organisation', sa.String(length=300), nullable=False),
    sa.Column('partners', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('to_start', 'in_progress', 'done', 'abandoned', name='actionstatus', native_enum=False, length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on', name=op.f('ck_roadmap_action_dates_ordered')),
    sa.ForeignKeyConstraint(['axis_id'], ['axis.id'], name=op.f('fk_roadmap_action_axis_id_axis')),
    sa.ForeignKeyConstraint(['roadmap_id'], ['roadmap.id'], name=op.f('fk_roadmap_action_roadmap_id_roadmap'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap_action')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('roadmap_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_action_axis_id'), ['axis_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roadmap_action_roadmap_id'), ['roadmap_id'], unique=False)

    op.create_table('roadmap_indicator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('objective', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicator.id'], name=op.f('fk_roadmap_indicator_indicator_id_indicator'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['roadmap_id'], ['roadmap.id'], name=op.f('fk_roadmap_indicator_roadmap_id_roadmap'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap_indicator')),
    sa.UniqueConstraint('roadmap_id', 'indicator_id', name=op.f('uq_roadmap_indicator_roadmap_id')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('roadmap_indicator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_indicator_indicator_id'), ['indicator_id'], unique=False)

    op.create_table('roadmap_partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('state_services', 'social_landlords', 'epci', 'siao', 'people_concerned', 'associations', 'operator_federations', 'ccas', 'health_social_institutions', 'ars', 'caf', 'other', name='partnerkind', native_enum=False, length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['roadmap_id'], ['roadmap.id'], name=op.f('fk_roadmap_partner_roadmap_id_roadmap'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap_partner')),
    sa.UniqueConstraint('roadmap_id', 'kind', 'name', name=op.f('uq_roadmap_partner_roadmap_id'))
    )
    op.create_table('roadmap_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('decision', sa.Enum('draft', 'submitted', 'validated', 'returned', name='roadmapstatus', native_enum=False, length=40), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_roadmap_version_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['roadmap_id'], ['roadmap.id'], name=op.f('fk_roadmap_version_roadmap_id_roadmap'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user.id'], name=op.f('fk_roadmap_version_submitted_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap_version')),
    sa.UniqueConstraint('roadmap_id', 'number', name=op.f('uq_roadmap_version_roadmap_id'))
    )
    with op.batch_alter_table('roadmap_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_version_decided_by_id'), ['decided_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roadmap_version_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('indicator_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_indicator_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['roadmap_indicator_id'], ['roadmap_indicator.id'], name=op.f('fk_indicator_target_roadmap_indicator_id_roadmap_indicator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_target')),
    sa.UniqueConstraint('roadmap_indicator_id', 'year', name=op.f('uq_indicator_target_roadmap_indicator_id'))
    )
    op.create_table('indicator_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_indicator_id', sa.Integer(), nullable=False),
    sa.Column('period_label', sa.String(length=40), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_indicator_value_period_ordered')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['user.id'], name=op.f('fk_indicator_value_reported_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['roadmap_indicator_id'], ['roadmap_indicator.id'], name=op.f('fk_indicator_value_roadmap_indicator_id_roadmap_indicator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_value')),
    sa.UniqueConstraint('roadmap_indicator_id', 'period_start', 'period_end', name=op.f('uq_indicator_value_roadmap_indicator_id'))
    )
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.create_index('ix_indicator_value_period_start_period_end', ['period_start', 'period_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_indicator_value_reported_by_id'), ['reported_by_id'], unique=False)

    op.create_table('roadmap_action_document',
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['roadmap_action.id'], name=op.f('fk_roadmap_action_document_action_id_roadmap_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_roadmap_action_document_document_id_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('action_id', 'document_id', name=op.f('pk_roadmap_action_document'))
    )
    with op.batch_alter_table('roadmap_action_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_action_document_document_id'), ['document_id'], unique=False)

    op.create_table('roadmap_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadmap_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('section', sa.Enum('general', 'context', 'actions', 'indicators', 'budget', 'governance', 'attachments', name='roadmapsection', native_enum=False, length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_roadmap_comment_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['roadmap_id'], ['roadmap.id'], name=op.f('fk_roadmap_comment_roadmap_id_roadmap'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['roadmap_version.id'], name=op.f('fk_roadmap_comment_version_id_roadmap_version'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap_comment'))
    )
    with op.batch_alter_table('roadmap_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_comment_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_roadmap_comment_roadmap_id_section', ['roadmap_id', 'section'], unique=False)
        batch_op.create_index(batch_op.f('ix_roadmap_comment_version_id'), ['version_id'], unique=False)

    op.create_table('roadmap_document',
    sa.Column('roadmap_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_roadmap_document_document_id_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['roadmap_id'], ['roadmap.id'], name=op.f('fk_roadmap_document_roadmap_id_roadmap'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('roadmap_id', 'document_id', name=op.f('pk_roadmap_document'))
    )
    with op.batch_alter_table('roadmap_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_document_document_id'), ['document_id'], unique=False)



def downgrade():
    with op.batch_alter_table('roadmap_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_document_document_id'))

    op.drop_table('roadmap_document')
    with op.batch_alter_table('roadmap_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_comment_version_id'))
        batch_op.drop_index('ix_roadmap_comment_roadmap_id_section')
        batch_op.drop_index(batch_op.f('ix_roadmap_comment_author_id'))

    op.drop_table('roadmap_comment')
    with op.batch_alter_table('roadmap_action_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_action_document_document_id'))

    op.drop_table('roadmap_action_document')
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_value_reported_by_id'))
        batch_op.drop_index('ix_indicator_value_period_start_period_end')

    op.drop_table('indicator_value')
    op.drop_table('indicator_target')
    with op.batch_alter_table('roadmap_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_version_submitted_by_id'))
        batch_op.drop_index(batch_op.f('ix_roadmap_version_decided_by_id'))

    op.drop_table('roadmap_version')
    op.drop_table('roadmap_partner')
    with op.batch_alter_table('roadmap_indicator', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_indicator_indicator_id'))

    op.drop_table('roadmap_indicator')
    with op.batch_alter_table('roadmap_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_action_roadmap_id'))
        batch_op.drop_index(batch_op.f('ix_roadmap_action_axis_id'))

    op.drop_table('roadmap_action')
    op.drop_table('budget_line')
    with op.batch_alter_table('roadmap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_roadmap_status'))
        batch_op.drop_index(batch_op.f('ix_roadmap_start_year'))
        batch_op.drop_index(batch_op.f('ix_roadmap_created_by_id'))

    op.drop_table('roadmap')
    op.drop_table('indicator')
