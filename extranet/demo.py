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


# A few toolbox documents, so that the toolbox and the search have something to show.
DOCUMENTS = [
    dict(author="coordination.lyon@demo.logement-dabord.fr", territory="lyon", type="action_sheet", axes=(9, 12),
         title="Plateforme d'accompagnement pluridisciplinaire : retour d'expérience",
         summary="Comment la Métropole et ses partenaires coordonnent l'accompagnement vers et dans le logement.",
         keywords="accompagnement, plateforme, coordination", filename="retour-experience-plateforme.txt",
         content="Retour d'expérience de la plateforme d'accompagnement pluridisciplinaire.\n"
                 "Les ménages sans domicile sont orientés directement vers le logement, avec un accompagnement "
                 "social renforcé, modulable selon les besoins. La prévention des expulsions locatives est "
                 "assurée dès le premier impayé, en lien avec la CAF et les bailleurs sociaux.\n"),
    dict(author="coordination.reunion@demo.logement-dabord.fr", territory="la-reunion", type="minutes", axes=(5, 15),
         title="Compte rendu du comité de pilotage Logement d'abord",
         summary="Gouvernance locale, observation sociale et suivi des indicateurs de la feuille de route.",
         keywords="gouvernance, observation sociale", filename="compte-rendu-copil.txt",
         content="Compte rendu du comité de pilotage.\nLe SIAO présente les données de la veille sociale : "
                 "personnes à la rue, hébergées à l'hôtel, sortants d'institutions. Les partenaires valident "
                 "les indicateurs de suivi et le calendrier de l'observatoire local du sans-abrisme.\n"),
    dict(author="admin@demo.logement-dabord.fr", territory=None, type="guide", axes=(1, 2, 3),
         title="Guide méthodologique : mobiliser le parc privé à des fins sociales",
         summary="Intermédiation locative, conventionnement Anah et captation de logements.",
         keywords="parc privé, intermédiation locative, Anah", filename="guide-parc-prive.csv",
         content="Levier;Description\nIntermédiation locative;Location ou sous-location par une association agréée\n"
                 "Conventionnement Anah;Loyers maîtrisés en échange d'avantages fiscaux\n"),
]


def load() -> None:
    slugs = {t.slug: t.id for t in db.session.scalars(select(Territory))}
    for account in ACCOUNTS:
        fields = dict(account)
        if find_user_by_email(fields["email"]) is not None:
            continue
        territory = fields.pop("territory", None)
        create_user(password=PASSWORD, territory_id=slugs.get(territory) if territory else None, **fields)
    _load_documents(slugs)


def _load_documents(slugs: dict) -> None:
    import io

    from extranet.plan.models import Axis
    from extranet.toolbox import services as toolbox
    from extranet.toolbox.models import Document, DocumentType, Visibility

    if db.session.scalar(select(Document.id).limit(1)) is not None:
        return
    axes = {a.number: a.id for a in db.session.scalars(select(Axis))}
    for spec in DOCUMENTS:
        upload = toolbox.receive_upload(io.BytesIO(spec["content"].encode()), spec["filename"], 10 * 1024 * 1024)
        toolbox.publish(
            find_user_by_email(spec["author"]),
            title=spec["title"],
            summary=spec["summary"],
            type=DocumentType(spec["type"]),
            axis_ids=[axes[n] for n in spec["axes"]],
            keywords=spec["keywords"],
            territory_id=slugs.get(spec["territory"]) if spec["territory"] else None,
            visibility=Visibility.NETWORK,
            upload=upload,
        )


def logins_text() -> str:
    lines = ["Demo logins (password for all: %s):" % PASSWORD]
    for account in ACCOUNTS:
        lines.append(f"  {account['role'].value:<12} {account['email']}")
    return "\n".join(lines)
