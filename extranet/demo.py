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
    _load_roadmaps(slugs)


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


# Roadmaps ("feuilles de route"): the national list of shared indicators (the
# spirit of fiche 4); Lyon's validated roadmap for last year and this year,
# sent back once so that its two versions compare, and its draft for the next
# two years; validated roadmaps of three other territories for the same
# period, each with actions on axis 12 (prévention des expulsions) for the axis
# view and the comparison. Periods follow today's date, so that the network
# view has this year's figures and a territory late in reporting them (the
# Pas-de-Calais).
SHARED_INDICATORS = [
    ("Ménages accédant au logement depuis la rue", "ménages",
     "Personnes sans abri accédant directement à un logement ordinaire ou adapté, sans passage par l'hébergement."),
    ("Ménages accédant au logement depuis l'hébergement", "ménages",
     "Sorties de l'hébergement généraliste (CHRS, CHU, hôtel) vers un logement ordinaire ou adapté."),
    ("Mesures d'accompagnement vers et dans le logement", "mesures",
     "Mesures ouvertes dans l'année : AVDL, accompagnement pluridisciplinaire, accompagnement en IML."),
    ("Places d'intermédiation locative", "places",
     "Places en location / sous-location et en mandat de gestion mobilisées dans le parc privé."),
    ("Expulsions locatives évitées", "ménages",
     "Ménages assignés dont le bail est maintenu ou qui sont relogés avant le concours de la force publique."),
    ("Places en pension de famille", "places", "Places ouvertes en pension de famille et en résidence accueil."),
    ("Logements très sociaux (PLAI adaptés) agréés", "logements", "Logements PLAI adaptés agréés dans l'année."),
]
# Places mobilised or open are a stock: the latest count stands, quarters do not add up.
# The others are flows: households housed, measures opened, evictions avoided, homes approved in the year.
SHARED_AGGREGATIONS = {
    "Places d'intermédiation locative": "stock",
    "Places en pension de famille": "stock",
}

# Coordinators of the territories whose roadmaps are shown besides Lyon and La Réunion's.
ROADMAP_COORDINATORS = [
    dict(email="coordination.grenoble@demo.logement-dabord.fr", name="Hélène Rousseau", territory="grenoble-alpes",
         function="Cheffe de projet Logement d'abord", organisation="Grenoble-Alpes Métropole"),
    dict(email="coordination.pasdecalais@demo.logement-dabord.fr", name="Karim Benali", territory="pas-de-calais",
         function="Coordinateur départemental Logement d'abord", organisation="Département du Pas-de-Calais"),
]

# Budget lines of fiche 5: kind -> (actions, total cost over 12 months in euros, territory's share in euros).
# Periods: ``years`` counted from this year. Indicators: (shared indicator name
# or (own name, unit), objective, (target of the first year, of the second)).
# Values are quarterly, each a share of the year's target times ``pace``, up to
# the last quarter ended, or ``lag`` quarters before it (None: no value yet).
ROADMAPS = [
    dict(
        territory="lyon", coordinator="coordination.lyon@demo.logement-dabord.fr", years=(-1, 0), status="validated",
        pace=0.9, lag=0,
        context="La Métropole de Lyon compte près de **1,4 million d'habitants**. Chaque soir, plus de 2 000 personnes "
                "sollicitent le 115 ; 7 000 ménages sont hébergés dans le dispositif généraliste, dont un tiers à l'hôtel.\n\n"
                "Le marché locatif est tendu : le taux de rotation dans le parc social est tombé sous 7 % et les loyers "
                "du parc privé excluent les ménages aux ressources les plus faibles.",
        strategy="La Métropole fait du **Logement d'abord** le cadre de sa politique d'insertion par le logement :\n\n"
                 "- accès direct au logement depuis la rue, avec un accompagnement modulable ;\n"
                 "- une plateforme unique d'accompagnement pluridisciplinaire ;\n"
                 "- la prévention des expulsions dès le premier impayé ;\n"
                 "- la captation de logements dans le parc privé.",
        budget_note="S'y ajoutent les crédits de droit commun du FSL (3,2 M€) et de l'AVDL.",
        actions=[
            (12, "Signalement à la CCAPEX dès le premier impayé", "existing", "Métropole de Lyon", "CAF, bailleurs sociaux, CCAPEX",
             "in_progress", "Les bailleurs signalent l'impayé dès le premier mois ; un travailleur social prend contact sous 15 jours."),
            (12, "Équipe mobile de prévention des expulsions", "new", "Fondation Abbé Pierre", "Métropole, ADIL, Maison de la veille sociale",
             "in_progress", "Des visites à domicile pour les ménages qui ne répondent plus aux courriers du bailleur."),
            (9, "Plateforme d'accompagnement pluridisciplinaire", "new", "Maison de la veille sociale", "Métropole, ARS, associations",
             "done", "Une porte d'entrée unique pour l'accompagnement vers et dans le logement, santé mentale comprise."),
            (2, "Agence immobilière à vocation sociale métropolitaine", "existing", "Métropole de Lyon", "Soliha, Habitat et Humanisme",
             "in_progress", "Captation de logements du parc privé en mandat de gestion, garantie des loyers."),
            (6, "Accès direct au logement depuis la rue", "new", "SIAO du Rhône", "Bailleurs sociaux, équipes de maraude",
             "in_progress", "Des logements réservés aux personnes à la rue, sans passage par l'hébergement."),
            (15, "Comité de pilotage partenarial semestriel", "existing", "Préfecture et Métropole", "Tous les partenaires",
             "done", ""),
        ],
        indicators=[
            ("Ménages accédant au logement depuis la rue", "Faire de l'accès direct au logement une voie ordinaire.", (150, 200)),
            ("Expulsions locatives évitées", "Diviser par deux les expulsions effectives.", (120, 160)),
            ("Mesures d'accompagnement vers et dans le logement", "", (400, 450)),
            ("Places d'intermédiation locative", "", (80, 120)),
            (("Délai moyen d'accès au logement depuis la demande", "mois"), "Réduire le délai pour les publics prioritaires.", (9, 6)),
        ],
        budget={"coordinator": ("Un poste de chef de projet à temps plein", 60_000, 30_000),
                "engineering": ("Étude de préfiguration de la plateforme d'accompagnement", 40_000, 10_000),
                "social_intervention": ("Équipe mobile de prévention des expulsions", 180_000, 60_000),
                "social_observation": ("Nuit de la solidarité", 25_000, 5_000),
                "monitoring_evaluation": ("Évaluation par un cabinet extérieur", 30_000, 10_000),
                "communication": ("Journée métropolitaine du Logement d'abord", 10_000, 5_000)},
        partners=[("state_services", "DDETS du Rhône"), ("social_landlords", "Lyon Métropole Habitat"),
                  ("social_landlords", "Grand Lyon Habitat"), ("siao", "Maison de la veille sociale"),
                  ("people_concerned", "Conseil régional des personnes accueillies"), ("associations", "Fondation Abbé Pierre"),
                  ("caf", "CAF du Rhône"), ("ars", "ARS Auvergne-Rhône-Alpes")],
        # First submitted with a larger engineering line and no governance action: sent back, corrected, validated.
        returned=dict(engineering_cost=65_000,
                      message="Merci de préciser la gouvernance de la démarche (qui pilote, à quel rythme) et de "
                              "justifier le montant de l'ingénierie de projet.",
                      comments=[("indicators", "Pouvez-vous préciser la source du délai moyen d'accès (SNE ou SIAO) ?")]),
    ),
    dict(
        territory="lyon", coordinator="coordination.lyon@demo.logement-dabord.fr", years=(1, 2), status="draft",
        pace=1.0, lag=None, editors=("bailleur.lyon@demo.logement-dabord.fr",),
        context="Le bilan de la feuille de route en cours est encourageant : **312 ménages** ont accédé au logement depuis la rue. "
                "La tension du marché locatif s'est pourtant accrue.",
        strategy="Consolider la plateforme d'accompagnement et étendre la prévention des expulsions au parc privé.",
        budget_note="",
        actions=[
            (12, "Prévention des expulsions dans le parc privé", "new", "ADIL du Rhône", "Métropole, CAF, huissiers",
             "to_start", "Étendre le repérage précoce des impayés aux bailleurs privés, avec l'ADIL et la CAF."),
            (12, "Signalement à la CCAPEX dès le premier impayé", "existing", "Métropole de Lyon", "CAF, bailleurs sociaux",
             "in_progress", ""),
            (3, "Deux nouvelles pensions de famille", "new", "Habitat et Humanisme", "Métropole, DDETS", "to_start", ""),
            (10, "Formation des travailleurs sociaux aux principes du Logement d'abord", "existing", "Métropole de Lyon",
             "IRTS, associations", "to_start", ""),
        ],
        indicators=[
            ("Ménages accédant au logement depuis la rue", "", (220, 250)),
            ("Expulsions locatives évitées", "", (180, 200)),
            ("Places en pension de famille", "", (25, 50)),
        ],
        budget={"coordinator": ("Un poste de chef de projet à temps plein", 62_000, 31_000),
                "social_intervention": ("Prévention des expulsions dans le parc privé", 120_000, 40_000)},
        partners=[("state_services", "DDETS du Rhône"), ("siao", "Maison de la veille sociale"), ("caf", "CAF du Rhône")],
        comments=[("indicators", "Pensez à reprendre l'indicateur « Mesures d'accompagnement vers et dans le logement » "
                                 "de la liste nationale : il permet de consolider les chiffres du réseau.")],
    ),
    dict(
        territory="grenoble-alpes", coordinator="coordination.grenoble@demo.logement-dabord.fr", years=(-1, 0),
        status="validated", pace=1.05, lag=0,
        context="Grenoble-Alpes Métropole et ses 49 communes : un parc social de 50 000 logements, un recours "
                "important à l'hôtel, un hiver rigoureux qui met à l'abri plus de 1 500 personnes.",
        strategy="Priorité au **logement** pour les personnes à la rue et au maintien dans le logement.",
        budget_note="",
        actions=[
            (12, "Commission de prévention des expulsions par bassin de vie", "existing", "Grenoble-Alpes Métropole",
             "Département de l'Isère, CAF, bailleurs", "in_progress",
             "Une commission mensuelle par bassin examine les situations dès l'assignation."),
            (12, "Fonds d'apurement des dettes locatives", "new", "CCAS de Grenoble", "Bailleurs sociaux, Action Logement",
             "in_progress", "Un prêt sans intérêt pour solder la dette et reprendre le paiement du loyer courant."),
            (9, "Accompagnement « Un chez-soi d'abord » métropolitain", "new", "Groupement de coopération sociale", "ARS, CHU",
             "in_progress", ""),
            (2, "Intermédiation locative dans le parc privé", "existing", "Un Toit Pour Tous", "Métropole, Anah", "in_progress", ""),
            (5, "Observatoire métropolitain du sans-abrisme", "new", "Grenoble-Alpes Métropole", "SIAO de l'Isère", "done", ""),
        ],
        indicators=[
            ("Ménages accédant au logement depuis la rue", "", (90, 110)),
            ("Expulsions locatives évitées", "", (70, 90)),
            ("Places d'intermédiation locative", "", (60, 80)),
            ("Mesures d'accompagnement vers et dans le logement", "", (250, 300)),
        ],
        budget={"coordinator": ("Une cheffe de projet", 55_000, 27_500),
                "social_intervention": ("Fonds d'apurement et accompagnement", 90_000, 30_000),
                "social_observation": ("Observatoire métropolitain", 20_000, 10_000)},
        partners=[("state_services", "DDETS de l'Isère"), ("siao", "SIAO de l'Isère"), ("ccas", "CCAS de Grenoble"),
                  ("social_landlords", "Actis"), ("ars", "ARS Auvergne-Rhône-Alpes")],
    ),
    dict(
        territory="pas-de-calais", coordinator="coordination.pasdecalais@demo.logement-dabord.fr", years=(-1, 0),
        status="validated", pace=0.7, lag=3,
        context="Un département de 1,4 million d'habitants, aux réalités contrastées entre le bassin minier, "
                "le littoral et l'Arrageois ; des EPCI nouvellement engagés depuis 2021.",
        strategy="Déployer le Logement d'abord avec les EPCI et structurer la prévention des expulsions.",
        budget_note="Le FSL départemental finance par ailleurs l'accompagnement social lié au logement.",
        actions=[
            (12, "Chartes de prévention des expulsions avec les EPCI", "new", "Département du Pas-de-Calais",
             "EPCI, bailleurs, Banque de France", "in_progress", ""),
            (12, "Diagnostics sociaux et financiers dès l'assignation", "existing", "Département du Pas-de-Calais",
             "CCAPEX, associations", "in_progress", ""),
            (7, "Mobilisation du contingent préfectoral pour les sortants d'hébergement", "existing", "DDETS du Pas-de-Calais",
             "Bailleurs sociaux", "in_progress", ""),
            (15, "Gouvernance départementale avec les EPCI", "new", "Département du Pas-de-Calais", "EPCI", "done", ""),
        ],
        indicators=[
            ("Expulsions locatives évitées", "", (100, 120)),
            ("Ménages accédant au logement depuis l'hébergement", "", (200, 220)),
            ("Logements très sociaux (PLAI adaptés) agréés", "", (40, 50)),
        ],
        budget={"coordinator": ("Un coordinateur départemental", 58_000, 29_000),
                "engineering": ("Appui aux EPCI", 35_000, 15_000)},
        partners=[("state_services", "DDETS du Pas-de-Calais"), ("epci", "Communauté urbaine d'Arras"),
                  ("siao", "SIAO du Pas-de-Calais"), ("caf", "CAF du Pas-de-Calais")],
    ),
    dict(
        territory="la-reunion", coordinator="coordination.reunion@demo.logement-dabord.fr", years=(-1, 0),
        status="validated", pace=0.95, lag=0,
        context="Un département de 870 000 habitants où 38 % de la population vit sous le seuil de pauvreté ; "
                "des besoins importants en logement très social.",
        strategy="Accélérer la production de logements très sociaux et prévenir les ruptures résidentielles.",
        budget_note="",
        actions=[
            (12, "Permanences de prévention des expulsions dans chaque arrondissement", "new", "Département de La Réunion",
             "ADIL, CAF, bailleurs sociaux", "in_progress", "Une permanence mensuelle dans chacun des quatre arrondissements."),
            (1, "Programme de logements très sociaux adaptés", "existing", "SHLMR", "DEAL, communes", "in_progress", ""),
            (5, "Nuit de la solidarité à Saint-Denis", "new", "Département de La Réunion", "Ville de Saint-Denis, SIAO",
             "done", ""),
        ],
        indicators=[
            ("Expulsions locatives évitées", "", (60, 80)),
            ("Logements très sociaux (PLAI adaptés) agréés", "", (150, 180)),
            ("Ménages accédant au logement depuis la rue", "", (40, 60)),
        ],
        budget={"coordinator": ("Une coordinatrice", 50_000, 25_000),
                "social_observation": ("Nuit de la solidarité", 15_000, 5_000)},
        partners=[("state_services", "DEAL de La Réunion"), ("social_landlords", "SHLMR"), ("siao", "SIAO de La Réunion"),
                  ("caf", "CAF de La Réunion")],
    ),
]
QUARTER_SHARES = (0.2, 0.25, 0.25, 0.3)  # of the year's target, quarter by quarter


def _load_roadmaps(slugs: dict) -> None:
    import calendar
    from datetime import date, datetime, timedelta
    from decimal import Decimal

    from extranet.plan.models import Axis
    from extranet.roadmaps import services as roadmaps
    from extranet.roadmaps.models import (
        ActionOrigin, ActionStatus, BudgetLine, BudgetLineKind, Indicator, IndicatorTarget, IndicatorValue, PartnerKind,
        Roadmap, RoadmapAction, RoadmapIndicator, RoadmapPartner,
    )
    from extranet.roadmaps.models import Aggregation
    from extranet.timeutil import utcnow
    from extranet.toolbox.models import Document

    if db.session.scalar(select(Roadmap.id).limit(1)) is not None:
        return
    for account in ROADMAP_COORDINATORS:
        if find_user_by_email(account["email"]) is None:
            fields = dict(account)
            create_user(password=PASSWORD, role=Role.COORDINATOR, territory_id=slugs[fields.pop("territory")], **fields)
    shared = {}
    for position, (name, unit, description) in enumerate(SHARED_INDICATORS, start=1):
        shared[name] = db.session.scalar(select(Indicator).filter_by(name=name)) or Indicator(
            name=name, unit=unit, description=description, position=position)
        shared[name].aggregation = Aggregation(SHARED_AGGREGATIONS.get(name, "flow"))
        db.session.add(shared[name])
    axes = {a.number: a for a in db.session.scalars(select(Axis))}
    admin = find_user_by_email("admin@demo.logement-dabord.fr")
    platform = db.session.scalar(select(Document).filter(Document.title.startswith("Plateforme d'accompagnement")))

    today = utcnow().date()
    ended = (today.year, (today.month - 1) // 3)  # the last quarter ended: (year, 0) is the year before's fourth
    ended = (ended[0] - 1, 4) if ended[1] == 0 else ended
    for spec in ROADMAPS:
        coordinator = find_user_by_email(spec["coordinator"])
        start, end = (today.year + n for n in spec["years"])
        roadmap = Roadmap(
            territory_id=slugs[spec["territory"]], start_year=start, end_year=end, context=spec["context"],
            strategy=spec["strategy"], budget_note=spec["budget_note"], created_by_id=coordinator.id,
            updated_by_id=coordinator.id,
        )
        if spec["status"] != "draft":
            roadmap.created_at = datetime(start - 1, 11, 10, 9, 0)
        actions = []
        for position, (number, title, origin, lead, partners, status, description) in enumerate(spec["actions"], start=1):
            actions.append(RoadmapAction(
                axis=axes[number], title=title, origin=ActionOrigin(origin), lead_organisation=lead, partners=partners,
                status=ActionStatus(status), description=description, position=position,
                starts_on=date(start, 1 + 3 * (position % 2), 1), ends_on=date(end, 12, 31),
            ))
            if number == 9 and platform is not None and spec["territory"] == "lyon":
                actions[-1].documents.append(platform)
        returned = spec.get("returned")
        # A roadmap sent back gets its last action after the national team's review.
        roadmap.actions = actions[:-1] if returned else actions
        for position, (which, objective, targets) in enumerate(spec["indicators"], start=1):
            indicator = shared[which] if isinstance(which, str) else None
            name, unit = (indicator.name, indicator.unit) if indicator else which
            item = RoadmapIndicator(indicator=indicator, name=name, unit=unit, objective=objective, position=position)
            item.targets = [IndicatorTarget(year=start + n, value=Decimal(value)) for n, value in enumerate(targets)]
            lag = spec["lag"]
            until = None if lag is None else (ended[0] * 4 + ended[1] - 1 - lag)  # in quarters since year 0
            for year, target in ((start + n, value) for n, value in enumerate(targets)):
                for quarter, share in enumerate(QUARTER_SHARES, start=1):
                    if until is None or year * 4 + quarter - 1 > until:
                        break
                    first = date(year, 3 * quarter - 2, 1)
                    last = date(year, 3 * quarter, calendar.monthrange(year, 3 * quarter)[1])
                    if item.aggregation == Aggregation.STOCK:
                        share = sum(QUARTER_SHARES[:quarter])  # places open so far: a stock is the latest count
                    # A duration in months goes down quarter after quarter; counts are reached bit by bit.
                    value = target * (1.1 - 0.05 * quarter) if unit == "mois" else target * share * spec["pace"]
                    item.values.append(IndicatorValue(
                        period_label=f"T{quarter} {year}", period_start=first, period_end=last,
                        value=Decimal(str(round(value, 1 if unit == "mois" else 0))), reported_by_id=coordinator.id,
                        reported_at=datetime.combine(last, datetime.min.time()),
                    ))
            roadmap.indicators.append(item)
        for kind, (planned, total, share) in spec["budget"].items():
            roadmap.budget_lines.append(BudgetLine(kind=BudgetLineKind(kind), actions=planned, total_cost_cents=total * 100,
                                                   territory_share_cents=share * 100))
        roadmap.partners = [RoadmapPartner(kind=PartnerKind(kind), name=name) for kind, name in spec["partners"]]
        for email in spec.get("editors", ()):
            roadmap.editors.append(find_user_by_email(email))
        db.session.add(roadmap)
        db.session.flush()

        for section, body in spec.get("comments", ()):
            roadmaps.comment(admin, roadmap, section, body)
        if spec["status"] == "draft":
            continue
        if returned:
            # The first submission, sent back.
            line = next(b for b in roadmap.budget_lines if b.kind == BudgetLineKind.ENGINEERING)
            kept = line.total_cost_cents
            line.total_cost_cents = returned["engineering_cost"] * 100
            db.session.flush()
            roadmaps.submit(coordinator, roadmap, roadmap.version)
            for section, body in returned["comments"]:
                roadmaps.comment(admin, roadmap, section, body)
            roadmaps.send_back(admin, roadmap, returned["message"])
            line.total_cost_cents = kept
            roadmap.actions.append(actions[-1])
            roadmaps.touch(roadmap, coordinator)
            db.session.flush()
        roadmaps.submit(coordinator, roadmap, roadmap.version)
        roadmaps.validate(admin, roadmap)
        # The workflow ran today: date it as it happened, before the period began.
        for n, version in enumerate(roadmap.versions):
            version.submitted_at = datetime(start - 1, 12, 15 + 5 * n, 10, 0)
            version.decided_at = datetime(start - 1, 12, 17 + 5 * n, 15, 0)
        for item in roadmap.comments:
            if item.version is not None:
                item.created_at = item.version.decided_at
        roadmap.submitted_at = roadmap.versions[-1].submitted_at
        roadmap.validated_at = roadmap.versions[-1].decided_at
        # Its last change is the coordinator's, just before that submission, not today's workflow run.
        roadmap.updated_at = roadmap.versions[-1].submitted_at - timedelta(hours=2)
        roadmap.updated_by_id = coordinator.id
        db.session.flush()


def logins_text() -> str:
    lines = ["Demo logins (password for all: %s):" % PASSWORD]
    for account in ACCOUNTS:
        lines.append(f"  {account['role'].value:<12} {account['email']}")
    return "\n".join(lines)
