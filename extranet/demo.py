"""Demo accounts for `make run`: one of each role, over three territories, one overseas."""

from sqlalchemy import select

from extranet.auth.services import create_user, find_user_by_email
from extranet.extensions import db
from extranet.roles import OrganisationType, Role
from extranet.territories.models import Territory

PASSWORD = "logement-dabord-demo"

ACCOUNTS = [
    dict(email="admin@demo.logement-dabord.fr", name="Claire Martin", role=Role.ADMIN,
         function="Cheffe de projet Logement d'abord", organisation="Dihal"),
    dict(email="animation@demo.logement-dabord.fr", name="Julien Moreau", role=Role.ANIMATOR,
         function="Animateur du réseau des territoires", organisation="Dihal"),
    dict(email="coordination.reunion@demo.logement-dabord.fr", name="Nadia Payet", role=Role.COORDINATOR,
         territory="la-reunion", function="Coordinatrice Logement d'abord",
         organisation="Département de La Réunion", phone="+262 262 90 30 30", timezone="Indian/Reunion"),
    dict(email="coordination.lyon@demo.logement-dabord.fr", name="Thomas Girard", role=Role.COORDINATOR,
         territory="lyon", function="Chef de projet Logement d'abord", organisation="Métropole de Lyon",
         phone="04 78 63 40 40"),
    dict(email="bailleur.lyon@demo.logement-dabord.fr", name="Sophie Bernard", role=Role.MEMBER,
         territory="lyon", function="Chargée de mission accès au logement", organisation="Lyon Métropole Habitat",
         organisation_type=OrganisationType.SOCIAL_LANDLORD),
    dict(email="siao.pasdecalais@demo.logement-dabord.fr", name="Marc Lefebvre", role=Role.MEMBER,
         territory="pas-de-calais", function="Responsable SIAO", organisation="SIAO du Pas-de-Calais",
         organisation_type=OrganisationType.SIAO),
]


def load() -> None:
    slugs = {t.slug: t.id for t in db.session.scalars(select(Territory))}
    for account in ACCOUNTS:
        fields = dict(account)
        if find_user_by_email(fields["email"]) is not None:
            continue
        territory = fields.pop("territory", None)
        create_user(password=PASSWORD, territory_id=slugs.get(territory) if territory else None, **fields)


def logins_text() -> str:
    lines = ["Demo logins (password for all: %s):" % PASSWORD]
    for account in ACCOUNTS:
        lines.append(f"  {account['role'].value:<12} {account['email']}")
    return "\n".join(lines)
