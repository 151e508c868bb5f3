"""Imports every model, so that the metadata Alembic compares is complete."""

from extranet.agenda.models import Event, EventSession, Registration  # noqa: F401
from extranet.audit import AuditEvent  # noqa: F401
from extranet.auth.models import Invitation, PasswordReset, User  # noqa: F401
from extranet.groups.models import (  # noqa: F401
    Group,
    GroupMembership,
    JoinRequest,
    Message,
    MessageAttachment,
    MessageRevision,
    Thread,
    ThreadRead,
    ThreadSubscription,
)
from extranet.mail import OutgoingMail  # noqa: F401
from extranet.plan.models import Axis, Priority  # noqa: F401
from extranet.roadmaps.models import (  # noqa: F401
    BudgetLine,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    Roadmap,
    RoadmapAction,
    RoadmapComment,
    RoadmapIndicator,
    RoadmapPartner,
    RoadmapVersion,
)
from extranet.territories.models import Territory  # noqa: F401
from extranet.toolbox.models import Document, DocumentVersion  # noqa: F401
