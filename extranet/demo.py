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
    _load_groups(slugs)
    _load_events()


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


# Two working groups with a few discussions: one open, one closed (with a
# request to join waiting, and a document shared with the group only).
GROUPS = [
    dict(
        name="Prévention des expulsions",
        is_open=True,
        axes=(4, 9),
        animators=("animation@demo.logement-dabord.fr", "coordination.lyon@demo.logement-dabord.fr"),
        members=("bailleur.lyon@demo.logement-dabord.fr", "coordination.reunion@demo.logement-dabord.fr",
                 "siao.pasdecalais@demo.logement-dabord.fr"),
        description="Échanger sur les pratiques de **prévention des expulsions locatives** : repérage des impayés dès "
                    "le premier mois, rôle des CCAPEX, protocoles avec les bailleurs sociaux, accompagnement des "
                    "ménages menacés.\n\nLe groupe se réunit en visioconférence une fois par trimestre ; entre deux "
                    "réunions, les discussions continuent ici.",
        threads=[
            dict(title="Mobiliser la CCAPEX dès le premier impayé", pinned=True, days_ago=12, messages=[
                ("coordination.lyon@demo.logement-dabord.fr",
                 "Bonjour à tous,\n\nÀ Lyon, nous testons depuis janvier un **signalement à la CCAPEX dès le premier "
                 "impayé**, en lien avec la CAF et les trois principaux bailleurs. Les premiers résultats sont "
                 "encourageants :\n\n- 140 ménages repérés en six mois ;\n- un premier contact social sous 15 jours "
                 "dans 80 % des cas.\n\nComment faites-vous dans vos territoires ?"),
                ("bailleur.lyon@demo.logement-dabord.fr",
                 "Côté bailleur, le plus difficile reste de joindre les ménages qui ne répondent plus aux courriers. "
                 "Nous avons recruté deux conseillères sociales qui font des **visites à domicile** : c'est ce qui "
                 "fonctionne le mieux."),
                ("coordination.reunion@demo.logement-dabord.fr",
                 "À La Réunion, la commission se réunit tous les mois par arrondissement. Nous avons le même constat "
                 "sur l'aller-vers. Je peux partager notre fiche de liaison avec les travailleurs sociaux du "
                 "Département si cela intéresse quelqu'un."),
                ("animation@demo.logement-dabord.fr",
                 "> **Nadia Payet** a écrit :\n>\n> Je peux partager notre fiche de liaison\n\nVolontiers ! "
                 "Déposez-la dans la boîte à outils, nous la présenterons à la prochaine réunion du groupe."),
            ]),
            dict(title="Protocoles de cohésion sociale : vos retours", days_ago=5, messages=[
                ("bailleur.lyon@demo.logement-dabord.fr",
                 "Nous renégocions notre protocole avec la préfecture. Quelles clauses avez-vous trouvées utiles "
                 "(durée, suivi social, reprise du paiement du loyer courant) ?"),
                ("siao.pasdecalais@demo.logement-dabord.fr",
                 "Dans le Pas-de-Calais, la clause la plus utile a été le **rendez-vous de suivi à trois mois** avec "
                 "le ménage, le bailleur et le travailleur social."),
            ]),
        ],
    ),
    dict(
        name="Observation sociale et données",
        is_open=False,
        axes=(15, 16),
        animators=("coordination.reunion@demo.logement-dabord.fr",),
        members=("siao.pasdecalais@demo.logement-dabord.fr", "admin@demo.logement-dabord.fr"),
        description="Groupe restreint des observatoires locaux : indicateurs partagés, nuit de la solidarité, "
                    "données du SIAO. Les échanges contiennent des **données non publiées** : le groupe est fermé.",
        threads=[
            dict(title="Indicateurs communs pour la nuit de la solidarité", days_ago=3, messages=[
                ("siao.pasdecalais@demo.logement-dabord.fr",
                 "Je propose que nous partagions une grille commune : personnes à la rue, en hébergement d'urgence, "
                 "à l'hôtel, sortants d'institutions. Qui peut relire la version jointe au compte rendu ?"),
                ("coordination.reunion@demo.logement-dabord.fr",
                 "Je m'en charge cette semaine. Attention aux effectifs trop faibles par commune : au-dessous de 10, "
                 "on ne publie pas."),
            ]),
        ],
        request=("bailleur.lyon@demo.logement-dabord.fr",
                 "Bonjour, je suis chargée de mission accès au logement chez Lyon Métropole Habitat : nos données "
                 "d'attribution pourraient intéresser le groupe."),
        document=dict(author="coordination.reunion@demo.logement-dabord.fr", territory="la-reunion", type="study", axes=(15,),
                      title="Grille d'indicateurs de l'observatoire local (version de travail)",
                      summary="Document de travail du groupe : définitions et sources de chaque indicateur.",
                      keywords="observation sociale, indicateurs", filename="grille-indicateurs.csv",
                      content="Indicateur;Source\nPersonnes à la rue;Maraudes et 115\nHébergement d'urgence;SIAO\n"),
    ),
]


def _load_groups(slugs: dict) -> None:
    import io
    from datetime import timedelta

    from extranet.groups import notifications
    from extranet.groups import services as groups
    from extranet.groups.models import Group, JoinRequest, JoinRequestStatus, Message
    from extranet.plan.models import Axis
    from extranet.timeutil import utcnow
    from extranet.toolbox import services as toolbox
    from extranet.toolbox.models import DocumentType, Visibility

    if db.session.scalar(select(Group.id).limit(1)) is not None:
        return
    axes = {a.number: a.id for a in db.session.scalars(select(Axis))}
    creator = find_user_by_email("admin@demo.logement-dabord.fr")
    for spec in GROUPS:
        group = groups.create_group(
            creator, name=spec["name"], description=spec["description"], is_open=spec["is_open"],
            axis_ids=[axes[n] for n in spec["axes"]], animator_ids=[find_user_by_email(e).id for e in spec["animators"]],
        )
        for email in spec["members"]:
            groups._new_membership(group, find_user_by_email(email))
        db.session.flush()
        for thread_spec in spec["threads"]:
            start = utcnow() - timedelta(days=thread_spec["days_ago"])
            (author, body), *replies = thread_spec["messages"]
            db.session.expire(find_user_by_email(author), ["memberships"])
            # Conversations of the past days: nobody is emailed about them now.
            with notifications.paused():
                thread = groups.open_thread(find_user_by_email(author), group, title=thread_spec["title"], body=body)
                for email, text in replies:
                    db.session.expire(find_user_by_email(email), ["memberships"])
                    groups.reply(find_user_by_email(email), thread, body=text)
            thread.pinned = thread_spec.get("pinned", False)
            # Spread the conversation over the days before today.
            messages = db.session.scalars(select(Message).where(Message.thread_id == thread.id).order_by(Message.number)).all()
            for n, message in enumerate(messages):
                message.created_at = start + timedelta(hours=5 * n + 2)
            thread.created_at = messages[0].created_at
            thread.last_message_at = messages[-1].created_at
        if "request" in spec:
            email, text = spec["request"]
            db.session.add(JoinRequest(group=group, user_id=find_user_by_email(email).id, message=text,
                                       status=JoinRequestStatus.PENDING, created_at=utcnow() - timedelta(days=1)))
        if "document" in spec:
            doc = spec["document"]
            upload = toolbox.receive_upload(io.BytesIO(doc["content"].encode()), doc["filename"], 10 * 1024 * 1024)
            document = toolbox.publish(
                find_user_by_email(doc["author"]), title=doc["title"], summary=doc["summary"], type=DocumentType(doc["type"]),
                axis_ids=[axes[n] for n in doc["axes"]], keywords=doc["keywords"], territory_id=slugs.get(doc["territory"]),
                visibility=Visibility.NETWORK, upload=upload,
            )
            # Shared with the group only (the toolbox form does not offer it yet).
            document.visibility = Visibility.GROUP
            document.group_id = group.id
        db.session.flush()


# The agenda: Amicalls to come and past (with a recording), a club des
# territoires with workshops and questions, a closed group's meeting.
# Times are Paris wall-clock times, days counted from today.
EVENTS = [
    dict(kind="amicall", title="Amicall — Prévenir les expulsions locatives : le rôle des CCAPEX", days=5, at=(14, 0), hours=1.5,
         axes=(12,), capacity=80,
         description="Tour de table des territoires sur la **prévention des expulsions** : repérage dès le premier "
                     "impayé, articulation avec la CAF et les bailleurs, place des CCAPEX.",
         speakers="Dihal, pôle prévention des expulsions", joining="Visioconférence : https://webconf.numerique.gouv.fr/amicall-ccapex\n\nPar téléphone : 01 86 26 00 00, code 4721 05",
         registered=("coordination.lyon@demo.logement-dabord.fr", "coordination.reunion@demo.logement-dabord.fr")),
    dict(kind="amicall", title="Amicall — Accompagnement pluridisciplinaire : retours d'expérience", days=-20, at=(10, 0), hours=1.5,
         axes=(9,), recording="https://video.logement-dabord.example/amicall-accompagnement",
         description="Deux territoires présentent leur plateforme d'accompagnement vers et dans le logement.",
         speakers="Métropole de Lyon ; Département de La Réunion", joining="Visioconférence : https://webconf.numerique.gouv.fr/amicall-accompagnement",
         registered=("coordination.lyon@demo.logement-dabord.fr", "bailleur.lyon@demo.logement-dabord.fr")),
    dict(kind="club", title="Club des territoires du Logement d'abord", days=40, at=(9, 30), hours=31,
         axes=(1, 9, 12, 15), capacity=120, seats_per_territory=3, deadline_days=30, max_sessions=2,
         description="Deux journées de rencontre du réseau : plénière d'ouverture, ateliers thématiques, "
                     "visites de terrain le second jour.",
         place="Ministère de la Transition écologique, 246 boulevard Saint-Germain, 75007 Paris",
         sessions=(("Atelier 1 — Mobiliser le parc privé", 30), ("Atelier 2 — Observation sociale et indicateurs", 30),
                   ("Atelier 3 — Participation des personnes concernées", 25)),
         questions=(("attendance", "Mode de participation", True, ""),
                    ("text", "Régime alimentaire", False, ""),
                    ("text", "Besoins d'accessibilité", False, "")),
         registered=("coordination.lyon@demo.logement-dabord.fr",)),
    dict(kind="group_meeting", title="Réunion du groupe « Observation sociale et données »", days=10, at=(10, 0), hours=2,
         axes=(15,), group="Observation sociale et données",
         joining="Visioconférence : https://webconf.numerique.gouv.fr/observation-sociale",
         registered=("coordination.reunion@demo.logement-dabord.fr",)),
    dict(kind="webinar", title="Webinaire — Le Logement d'abord pour les jeunes sortants de l'ASE", days=60, at=(11, 0), hours=1,
         axes=(4,), description="Présentation des dispositifs d'accès au logement des jeunes sortant de l'aide sociale à l'enfance."),
]


def _load_events() -> None:
    from datetime import datetime, timedelta

    from extranet.agenda import services as agenda
    from extranet.agenda.models import (
        Event, EventKind, EventSession, QuestionKind, Registration, RegistrationQuestion, RegistrationStatus,
    )
    from extranet.groups.models import Group
    from extranet.plan.models import Axis
    from extranet.timeutil import utcnow

    if db.session.scalar(select(Event.id).limit(1)) is not None:
        return
    axes = {a.number: a.id for a in db.session.scalars(select(Axis))}
    creator = find_user_by_email("animation@demo.logement-dabord.fr")
    today = agenda.to_local(utcnow(), agenda.PARIS).date()
    for spec in EVENTS:
        day = today + timedelta(days=spec["days"])
        starts = agenda.to_utc(datetime(day.year, day.month, day.day, *spec["at"]), agenda.PARIS)
        group = db.session.scalar(select(Group).filter_by(name=spec["group"])) if "group" in spec else None
        deadline = starts - timedelta(days=spec["days"] - spec["deadline_days"]) if "deadline_days" in spec else None
        event = agenda.create_event(
            find_user_by_email("admin@demo.logement-dabord.fr") if group is None else creator,
            axis_ids=[axes[n] for n in spec["axes"]], group=group,
            kind=EventKind(spec["kind"]), title=spec["title"], description=spec.get("description", ""),
            starts_at=starts, ends_at=starts + timedelta(hours=spec["hours"]), speakers=spec.get("speakers", ""),
            place=spec.get("place", ""), joining_details=spec.get("joining", ""), capacity=spec.get("capacity"),
            seats_per_territory=spec.get("seats_per_territory"), registration_opens_at=None, registration_deadline=deadline,
        )
        event.max_sessions_per_person = spec.get("max_sessions")
        event.recording_url = spec.get("recording", "")
        for position, (title, capacity) in enumerate(spec.get("sessions", ()), start=1):
            db.session.add(EventSession(event=event, title=title, capacity=capacity, position=position))
        for position, (kind, label, required, options) in enumerate(spec.get("questions", ()), start=1):
            db.session.add(RegistrationQuestion(event=event, kind=QuestionKind(kind), label=label, required=required,
                                                options=options, position=position))
        db.session.flush()
        for email in spec.get("registered", ()):
            user = find_user_by_email(email)
            if spec["days"] > 0:
                agenda.register(user, event)
            else:  # registrations of a past event, as they were
                db.session.add(Registration(event_id=event.id, user_id=user.id, territory_id=user.territory_id,
                                            status=RegistrationStatus.REGISTERED, created_at=starts - timedelta(days=7)))
        db.session.flush()


def logins_text() -> str:
    lines = ["Demo logins (password for all: %s):" % PASSWORD]
    for account in ACCOUNTS:
        lines.append(f"  {account['role'].value:<12} {account['email']}")
    return "\n".join(lines)
