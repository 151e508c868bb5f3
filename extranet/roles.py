"""Roles and organisation types: the vocabulary :mod:`extranet.permissions` reasons with."""

import enum

from flask_babel import lazy_gettext as _l


class Role(enum.StrEnum):
    ADMIN = "admin"
    ANIMATOR = "animator"
    COORDINATOR = "coordinator"
    MEMBER = "member"

    @property
    def label(self):
        return ROLE_LABELS[self]

    @property
    def is_national(self) -> bool:
        return self in (Role.ADMIN, Role.ANIMATOR)


ROLE_LABELS = {
    Role.ADMIN: _l("National administrator (Dihal)"),
    Role.ANIMATOR: _l("National animator"),
    Role.COORDINATOR: _l("Territory coordinator"),
    Role.MEMBER: _l("Territory member"),
}


class OrganisationType(enum.StrEnum):
    STATE = "state"
    SOCIAL_LANDLORD = "social_landlord"
    SIAO = "siao"
    CCAS = "ccas"
    CAF = "caf"
    ARS = "ars"
    ASSOCIATION = "association"
    LOCAL_AUTHORITY = "local_authority"
    OTHER = "other"

    @property
    def label(self):
        return ORGANISATION_TYPE_LABELS[self]


ORGANISATION_TYPE_LABELS = {
    OrganisationType.STATE: _l("State services"),
    OrganisationType.SOCIAL_LANDLORD: _l("Social landlord"),
    OrganisationType.SIAO: _l("SIAO"),
    OrganisationType.CCAS: _l("CCAS"),
    OrganisationType.CAF: _l("CAF"),
    OrganisationType.ARS: _l("ARS"),
    OrganisationType.ASSOCIATION: _l("Association"),
    OrganisationType.LOCAL_AUTHORITY: _l("Local authority"),
    OrganisationType.OTHER: _l("Other"),
}
