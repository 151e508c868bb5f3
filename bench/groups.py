"""Working groups benchmark: page latency with a large discussion history.

    .venv/bin/python bench/groups.py [--groups N] [--threads N] [--messages N] [--requests N]
                                     [--seed N] [--small] [--database-url URL]

Builds a database (a SQLite file in a temporary directory, or the empty
PostgreSQL database given by ``--database-url``) through the migrations, with
the plan and the territories, about 300 accounts, N working groups (some
closed, a few archived), their memberships, N threads and N messages: most
threads short, a few of more than 1,000 messages, written over two years by
the groups' members in French Markdown, with some edits, deletions and
attachments; read marks and subscriptions for everyone, and toolbox documents
shared with groups.

The rows go in by bulk INSERT statements (``session.execute(insert(Model),
rows)``): they add no object to the session, so no flush happens and the search
index's ``after_flush`` hook has nothing to collect; page latency does not
depend on the index, which stays empty.

Then a member logs in through the real login route with the test client, and
each page kind is requested N times, in turn: the group directory, a group page
(first and a later page), a thread page (first page and a middle page of the
longest thread). Prints one figure a line, ``name: value unit (target: ≤ X
unit)``; the SQL queries each page runs (counted with a
``before_cursor_execute`` event) and the build time go to stderr.
"""

import argparse
import logging
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, select, text, update  # noqa: E402

from bench.common import BATCH, FIRST_NAMES, LAST_NAMES, PASSWORD, QueryCounter, bulk, log_in, note, percentile  # noqa: E402
from extranet import create_app  # noqa: E402
from extranet.extensions import db  # noqa: E402

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"

PAGE_P50_TARGET_MS = 50  # the issue bounds the p95; the median can only be lower
PAGE_P95_TARGET_MS = 50
DAYS = 730  # two years of discussions

FALLBACK_TEXT = """
Le plan Logement d'abord vise à orienter rapidement les personnes sans domicile vers un logement durable.
Les territoires de mise en œuvre accélérée mobilisent les services de l'État, les bailleurs et les associations.
La prévention des expulsions locatives reste au cœur de la démarche. Les commissions de coordination se réunissent
chaque mois. Nous avons lancé un appel à projets pour l'intermédiation locative. Le SIAO partage désormais ses
données avec l'observatoire. Qui a déjà travaillé sur le bail glissant ? Merci pour ce retour très utile.
"""

GROUP_THEMES = [
    "Prévention des expulsions", "Accompagnement pluridisciplinaire", "Observation sociale", "Intermédiation locative",
    "Santé mentale et logement", "Jeunes sortant de l'ASE", "Résorption des bidonvilles", "Sortants de prison",
    "Femmes victimes de violences", "Habitat inclusif", "Pensions de famille", "Un chez-soi d'abord",
    "SIAO et coordination", "Bailleurs sociaux", "Accès au logement social", "Domiciliation",
    "Gens du voyage", "Hébergement d'urgence", "Logement des jeunes", "Pair-aidance",
]


# --- Text ------------------------------------------------------------------------------


class Writer:
    """French sentences from the seed texts, put together as forum messages in Markdown."""

    def __init__(self, rng: random.Random):
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(SEEDS.glob("*.txt"))] if SEEDS.is_dir() else []
        corpus = " ".join(texts) if sum(len(t) for t in texts) > 2000 else FALLBACK_TEXT * 3
        sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", corpus)]
        self.sentences = [s for s in sentences if 30 <= len(s) <= 300] or [" ".join(FALLBACK_TEXT.split())]
        self.words = sorted({w for w in re.findall(r"[\w’'-]+", corpus) if len(w) > 4})
        self.rng = rng

    def paragraph(self, low=1, high=4) -> str:
        return " ".join(self.rng.choice(self.sentences) for _ in range(self.rng.randint(low, high)))

    def title(self) -> str:
        words = self.rng.sample(self.words, self.rng.randint(3, 8))
        return " ".join(words).capitalize()[:200]

    def body(self, author_names: list[str]) -> str:
        roll = self.rng.random()
        parts = [self.paragraph()]
        if roll < 0.08:
            parts.append("\n".join(f"- {self.rng.choice(self.sentences)}" for _ in range(self.rng.randint(2, 5))))
        elif roll < 0.13:
            parts.insert(0, f"> {self.rng.choice(self.sentences)}")
        elif roll < 0.16:
            parts.append(f"Voir [le guide](https://www.ecologie.gouv.fr/logement-dabord) et **{self.rng.choice(self.words)}**.")
        elif roll < 0.20 and author_names:
            parts.insert(0, f"@{self.rng.choice(author_names)} {self.paragraph(1, 1)}")
        if self.rng.random() < 0.35:
            parts.append(self.paragraph(1, 3))
        return "\n\n".join(parts)


# --- Building the database ---------------------------------------------------------------


def skewed_counts(rng: random.Random, total: int, buckets: int, alpha: float) -> list[int]:
    """``total`` split into ``buckets`` counts of at least one, Pareto-distributed."""
    if buckets <= 0:
        return []
    counts = [1] * buckets
    weights = [rng.paretovariate(alpha) for _ in range(buckets)]
    for i in rng.choices(range(buckets), weights=weights, k=max(0, total - buckets)):
        counts[i] += 1
    return counts


def build(args, rng: random.Random, writer: Writer) -> dict:
    """Fill the database; returns what the measures need (the member, the URLs)."""
    from werkzeug.security import generate_password_hash

    from extranet.auth.models import User
    from extranet.groups.models import (
        Group,
        GroupMembership,
        Message,
        MessageAttachment,
        MessageRevision,
        NotificationPreference,
        SubscriptionReason,
        Thread,
        ThreadRead,
        ThreadSubscription,
        group_axis,
    )
    from extranet.plan.models import Axis
    from extranet.plan.services import load_plan
    from extranet.roles import OrganisationType, Role
    from extranet.territories.models import Territory
    from extranet.territories.services import load_territories
    from extranet.toolbox.models import Document, DocumentType, DocumentVersion, Visibility, document_axis

    load_territories()
    load_plan()
    db.session.commit()
    if db.session.scalar(select(func.count()).select_from(User)) or db.session.scalar(select(func.count()).select_from(Group)):
        sys.exit("The database is not empty: give an empty database (it gets the schema and the bench's rows).")

    now = datetime.now().replace(microsecond=0) - timedelta(hours=1)
    origin = now - timedelta(days=DAYS)
    territory_ids = list(db.session.scalars(select(Territory.id).order_by(Territory.id)))
    axis_ids = list(db.session.scalars(select(Axis.id).order_by(Axis.number)))

    # Accounts: the national team, coordinators, partners. One password hash for all (hashing 300 would be slow).
    password_hash = generate_password_hash(PASSWORD)
    users, user_names = [], {}
    admins, animators, coordinators = max(1, args.users // 100), max(2, args.users // 40), max(2, args.users // 5)
    for i in range(1, args.users + 1):
        role = (Role.ADMIN if i <= admins else Role.ANIMATOR if i <= admins + animators
                else Role.COORDINATOR if i <= admins + animators + coordinators else Role.MEMBER)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        user_names[i] = name
        users.append(dict(
            id=i, email=f"personne{i}@example.org", password_hash=password_hash, name=name, function="", organisation="",
            organisation_type=OrganisationType.ASSOCIATION if role == Role.MEMBER else None, phone="",
            timezone="Europe/Paris", language="fr", role=role,
            territory_id=None if role.is_national else territory_ids[i % len(territory_ids)],
            active=i % 50 != 0, session_token=secrets.token_urlsafe(24), created_at=origin, last_login_at=None,
        ))
    bulk(User, users)
    national = [u["id"] for u in users if u["role"] in (Role.ADMIN, Role.ANIMATOR)]
    others = [u["id"] for u in users if u["id"] not in national]
    # The member whose pages are measured: a territory member, like most readers.
    reader = next(u["id"] for u in users if u["role"] == Role.MEMBER and u["active"])

    # Groups: a few archived, a fifth closed; sizes and activity skewed.
    groups = []
    for g in range(1, args.groups + 1):
        theme = GROUP_THEMES[(g - 1) % len(GROUP_THEMES)]
        name = theme if g <= len(GROUP_THEMES) else f"{theme} ({(g - 1) // len(GROUP_THEMES) + 1})"
        groups.append(dict(
            id=g, name=name, slug=re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + f"-{g}",
            description=writer.paragraph(2, 5), is_open=g % 5 != 3, created_at=origin, created_by_id=national[0],
            updated_at=origin, archived_at=now - timedelta(days=30) if g % 17 == 16 else None,
        ))
    bulk(Group, groups)
    bulk(group_axis, [dict(group_id=g["id"], axis_id=a) for g in groups for a in rng.sample(axis_ids, rng.randint(1, 3))])

    members: dict[int, list[int]] = {}
    membership_rows = []
    group_sizes = sorted((min(len(others), 5 + int(rng.paretovariate(1.3) * 8)) for _ in groups), reverse=True)
    for g, size in zip(groups, group_sizes, strict=True):
        chosen = rng.sample(others, size) + rng.sample(national, rng.randint(1, 3))
        if g["id"] <= 4 and reader not in chosen:  # the reader belongs to the four busiest groups
            chosen.append(reader)
        members[g["id"]] = chosen
        animators = set(rng.sample(chosen, min(len(chosen), rng.randint(1, 3))))
        animators.discard(reader)
        for user_id in chosen:
            membership_rows.append(dict(
                group_id=g["id"], user_id=user_id, is_animator=user_id in animators, joined_at=origin,
                notification=rng.choice(list(NotificationPreference)), read_up_to_message_id=0, digest_sent_at=None,
            ))

    # Threads: a few long ones (1,000 messages and more) in the busiest group, the rest short and skewed.
    long_count = max(1, args.threads // 4_000)
    long_sizes = [rng.randint(1_000, 2_500) for _ in range(long_count)]
    while sum(long_sizes) > args.messages // 3 and len(long_sizes) > 1:
        long_sizes.pop()
    short_sizes = skewed_counts(rng, args.messages - sum(long_sizes), args.threads - len(long_sizes), alpha=1.6)
    sizes = long_sizes + short_sizes
    thread_groups = [1] * len(long_sizes) + rng.choices(
        [g["id"] for g in groups], weights=[1 / (i + 1) ** 0.9 for i in range(len(groups))], k=len(short_sizes)
    )
    # When each message was written: a thread starts some day of the two years and
    # lives a few days (weeks or months for the long ones).
    span = DAYS * 86_400
    schedule = []  # (seconds since origin, thread index)
    starts = []
    for t, size in enumerate(sizes):
        start = rng.uniform(0, span * (0.3 if size >= 1_000 else 0.97))
        length = min(span - start, size * rng.expovariate(1 / (6 * 3600)))
        starts.append(start)
        schedule.append((start, t))
        schedule.extend((start + rng.uniform(0, length), t) for _ in range(size - 1))
    schedule.sort()
    # Thread ids in the order threads were opened; message ids in the order messages were written.
    order = sorted(range(len(sizes)), key=lambda t: starts[t])
    thread_id = {t: i + 1 for i, t in enumerate(order)}

    def at(seconds: float) -> datetime:
        return origin + timedelta(seconds=int(seconds))

    thread_rows = {}
    for t in order:
        group_id = thread_groups[t]
        thread_rows[t] = dict(
            id=thread_id[t], group_id=group_id, title=writer.title(), author_id=rng.choice(members[group_id]),
            created_at=at(starts[t]), last_message_at=at(starts[t]), last_message_id=None, message_count=sizes[t],
            pinned=False, locked=rng.random() < 0.02,
        )
    for group_id in range(1, len(groups) + 1):  # two pinned threads in some groups
        pinned = [r for r in thread_rows.values() if r["group_id"] == group_id][:2]
        for row in pinned if group_id % 3 == 0 else ():
            row["pinned"] = True
    bulk(Thread, [thread_rows[t] for t in order])

    message_ids: dict[int, list[int]] = defaultdict(list)  # thread index -> its message ids, in order
    participants: dict[int, set[int]] = defaultdict(set)
    messages, revisions, attachments = [], [], []
    written = 0
    for message_id, (seconds, t) in enumerate(schedule, start=1):
        row = thread_rows[t]
        number = len(message_ids[t]) + 1
        author = row["author_id"] if number == 1 else rng.choice(members[row["group_id"]])
        message_ids[t].append(message_id)
        participants[t].add(author)
        created = at(seconds)
        roll = rng.random()
        deleted = number > 1 and roll < 0.01
        edited = not deleted and roll < 0.03
        body = "" if deleted else writer.body([user_names[a] for a in rng.sample(members[row["group_id"]], 2)])
        messages.append(dict(
            id=message_id, thread_id=row["id"], number=number, author_id=author, body=body, created_at=created,
            edited_at=created + timedelta(hours=1) if edited else None, deleted_at=created + timedelta(hours=2) if deleted else None,
            deleted_by_id=author if deleted else None,
        ))
        if edited:
            revisions.append(dict(message_id=message_id, body=writer.paragraph(1, 2), edited_by_id=author, edited_at=created + timedelta(hours=1)))
        if not deleted and rng.random() < 0.01:
            attachments.append(dict(message_id=message_id, sha256=secrets.token_hex(32), size=rng.randint(10_000, 2_000_000),
                                    format="pdf", filename="compte-rendu.pdf", created_at=created))
        if len(messages) >= BATCH:
            written += bulk(Message, messages)
            messages.clear()
    written += bulk(Message, messages)
    bulk(MessageRevision, revisions)
    bulk(MessageAttachment, attachments)
    db.session.execute(update(Thread).values(
        last_message_id=select(func.max(Message.id)).where(Message.thread_id == Thread.id).scalar_subquery(),
        last_message_at=select(func.max(Message.created_at)).where(Message.thread_id == Thread.id).scalar_subquery(),
    ))

    # Read marks: every member has read some threads of their groups; the reader,
    # more, and has read the busiest groups wholesale up to some months ago.
    latest = len(schedule)
    threads_of: dict[int, list[int]] = defaultdict(list)
    for t in order:
        threads_of[thread_groups[t]].append(t)
    reads = []
    for m in membership_rows:
        is_reader = m["user_id"] == reader
        if is_reader and m["group_id"] in (2, 3):
            m["read_up_to_message_id"] = int(latest * 0.7)
        share = 0.6 if is_reader else 0.15
        for t in threads_of[m["group_id"]]:
            if rng.random() < share:
                ids = message_ids[t]
                last = ids[-1] if rng.random() < 0.7 else ids[rng.randrange(len(ids))]
                reads.append(dict(user_id=m["user_id"], thread_id=thread_id[t], last_read_message_id=last, read_at=now))
    bulk(GroupMembership, membership_rows)
    bulk(ThreadRead, reads)
    bulk(ThreadSubscription, [
        dict(thread_id=thread_id[t], user_id=u, reason=SubscriptionReason.AUTHOR if u == thread_rows[t]["author_id"] else SubscriptionReason.PARTICIPANT,
             muted=False, created_at=now)
        for t in order for u in sorted(participants[t])
    ])

    # Toolbox documents, some shared with a group (the group page lists them).
    documents, versions = [], []
    for d in range(1, args.documents + 1):
        roll = rng.random()
        visibility = Visibility.GROUP if roll < 0.3 else Visibility.NATIONAL if roll < 0.4 else Visibility.NETWORK
        group_id = rng.choice([1, 1, 2, 3] + [g["id"] for g in groups]) if visibility == Visibility.GROUP else None
        created = origin + timedelta(days=rng.uniform(0, DAYS))
        documents.append(dict(
            id=d, title=writer.title(), summary=writer.paragraph(1, 2), type=rng.choice(list(DocumentType)), keywords="",
            territory_id=rng.choice(territory_ids), visibility=visibility, group_id=group_id,
            author_id=rng.choice(members[group_id]) if group_id else rng.choice(others), created_at=created, updated_at=created,
            download_count=rng.randint(0, 200), current_version_id=None,
        ))
        versions.append(dict(id=d, document_id=d, number=1, sha256=secrets.token_hex(32), size=rng.randint(10_000, 5_000_000),
                             format="pdf", filename="document.pdf", note="", author_id=documents[-1]["author_id"], created_at=created,
                             text="", extraction_error=None))
    bulk(Document, documents)
    bulk(DocumentVersion, versions)
    bulk(document_axis, [dict(document_id=d["id"], axis_id=a) for d in documents for a in rng.sample(axis_ids, rng.randint(1, 2))])
    db.session.execute(update(Document).values(current_version_id=Document.id))
    db.session.commit()

    if db.engine.dialect.name == "postgresql":
        # Ids were given explicitly: move the sequences past them, and gather the
        # statistics autovacuum would have by now.
        for table in ("user", "working_group", "group_membership", "thread", "message", "message_revision", "message_attachment",
                      "thread_read", "thread_subscription", "document", "document_version"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))

    longest = max(range(len(sizes)), key=lambda t: sizes[t])
    busiest = max((g["id"] for g in groups if g["archived_at"] is None and reader in members[g["id"]]),
                  key=lambda g: len(threads_of[g]))
    typical = next((t for t in order if thread_groups[t] == busiest and 8 <= sizes[t] <= 40), order[-1])
    return dict(
        reader=reader,
        written=written,
        reads=len(reads),
        busiest=next(g for g in groups if g["id"] == busiest),
        busiest_threads=len(threads_of[busiest]),
        longest=thread_id[longest],
        longest_size=sizes[longest],
        typical=thread_id[typical],
        typical_size=sizes[typical],
        short_median=statistics.median(short_sizes) if short_sizes else 0,
    )




# --- Measuring ------------------------------------------------------------------------


def measure(app, facts: dict, requests: int) -> None:
    from extranet.groups.services import MESSAGES_PER_PAGE, THREADS_PER_PAGE

    slug = facts["busiest"]["slug"]
    group_pages = -(-facts["busiest_threads"] // THREADS_PER_PAGE)
    thread_pages = -(-facts["longest_size"] // MESSAGES_PER_PAGE)
    pages = {
        "directory": "/groups/",
        "group_page": f"/groups/{slug}",
        "group_page_later": f"/groups/{slug}?page={max(2, group_pages // 2)}",
        "thread_page": f"/groups/threads/{facts['typical']}",
        "long_thread_page": f"/groups/threads/{facts['longest']}",
        "long_thread_middle_page": f"/groups/threads/{facts['longest']}?page={max(2, thread_pages // 2)}",
    }
    note(f"measured: group “{facts['busiest']['name']}” ({facts['busiest_threads']} threads, page {max(2, group_pages // 2)} of "
         f"{group_pages} as its later page); a thread of {facts['typical_size']} messages; the longest thread "
         f"({facts['longest_size']} messages, page {max(2, thread_pages // 2)} of {thread_pages} as its middle page)")
    client = app.test_client()
    with app.app_context():
        email = db.session.scalar(text('SELECT email FROM "user" WHERE id = :id'), {"id": facts["reader"]})
    log_in(client, email)

    counter = QueryCounter()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter.before)
    event.listen(engine, "after_cursor_execute", counter.after)
    queries = {}
    try:
        for name, url in pages.items():  # warm up: templates compiled, first-visit bookkeeping written
            for _ in range(3):
                counter.reset()
                response = client.get(url)
                if response.status_code != 200:
                    sys.exit(f"{url} answered {response.status_code}")
            queries[name] = (counter.count, counter.seconds * 1000, counter.slowest)
    finally:
        event.remove(engine, "before_cursor_execute", counter.before)
        event.remove(engine, "after_cursor_execute", counter.after)

    timings: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(requests):
        for name, url in pages.items():
            started = time.perf_counter()
            response = client.get(url)
            timings[name].append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                sys.exit(f"{url} answered {response.status_code}")
    for name in pages:
        print(f"{name}_p50: {statistics.median(timings[name]):.1f} ms (target: ≤ {PAGE_P50_TARGET_MS} ms)")
        print(f"{name}_p95: {percentile(timings[name], 95):.1f} ms (target: ≤ {PAGE_P95_TARGET_MS} ms)", flush=True)
    note("SQL queries per page (the login's session and the reader's memberships included):")
    for name, (count, ms, (slowest_s, statement)) in queries.items():
        note(f"  {name}: {count} queries, {ms:.1f} ms in the database; slowest {slowest_s * 1000:.1f} ms: {statement}")
    note("slowest request per page: " + ", ".join(f"{name} {max(values):.0f} ms" for name, values in timings.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--threads", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--documents", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page kind")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--small", action="store_true", help="a quick run: 10 groups, 1,000 threads, 12,000 messages, 30 requests")
    parser.add_argument("--database-url", help="an empty PostgreSQL (or SQLite) database instead of a SQLite file in a temporary directory")
    args = parser.parse_args(argv)
    if args.small:
        args.groups, args.threads, args.messages, args.users, args.documents, args.requests = 10, 1_000, 12_000, 60, 200, 30
    if args.messages < args.threads:
        parser.error("--messages must be at least --threads: every thread has its first message")
    if args.groups < 4:
        parser.error("--groups must be at least 4")

    rng = random.Random(args.seed)
    writer = Writer(rng)
    root = Path(tempfile.mkdtemp(prefix="extranet-bench-groups-"))
    logging.disable(logging.WARNING)
    try:
        url = args.database_url or f"sqlite:///{root / 'groups.sqlite3'}"
        app = create_app({"ENV": "testing", "DATA_DIR": str(root / "data"), "SECRET_KEY": "bench", "DATABASE_URL": url})
        import flask_migrate

        from sqlalchemy.orm import Session

        from extranet.groups.models import Message, Thread

        flushed = []  # what the search index's after_flush hook would see of the discussions

        def watch(session, context):
            flushed.extend(o for o in (*session.new, *session.dirty) if isinstance(o, Thread | Message))

        started = time.perf_counter()
        event.listen(Session, "after_flush", watch)
        try:
            with app.app_context():
                flask_migrate.upgrade()
                facts = build(args, rng, writer)
                db.session.remove()
        finally:
            event.remove(Session, "after_flush", watch)
        note(f"{args.groups} groups, {args.threads} threads, {facts['written']} messages (median short thread "
             f"{facts['short_median']:.0f}), {facts['reads']} read marks on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, "
             f"built in {time.perf_counter() - started:.0f} s; threads and messages seen by the search hooks: {len(flushed)}")
        measure(app, facts, args.requests)
        with app.app_context():
            db.engine.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
