"""What the benchmarks share: names, batched inserts, a percentile, an SQL statement
counter, logging in through the real form. The scripts put the project's root on
sys.path first."""

import re
import sys
import time
from contextlib import contextmanager

from sqlalchemy import insert

from extranet.extensions import db

# The password of every account a benchmark makes.
PASSWORD = "mot de passe du banc d'essai"
BATCH = 5_000
FIRST_NAMES = ["Camille", "Dominique", "Claude", "Nadia", "Karim", "Sophie", "Julien", "Aïcha", "Hélène", "Thomas", "Léa",
               "Mehdi", "Isabelle", "François", "Chloé", "Yannick", "Fatou", "Bernard", "Élodie", "Marc"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Garcia", "Roux", "Fontaine", "N'Diaye",
              "Chevalier", "Girard", "Benali", "Perrin", "Morel", "Mercier", "Lemoine", "Rousseau", "Blanc", "Guérin"]


def note(text: str) -> None:
    """Context for the figures, on stderr so that stdout holds only the figures."""
    print(f"# {text}", file=sys.stderr, flush=True)


def bulk(model, rows) -> int:
    """INSERT in batches, bypassing the unit of work (and so the search hooks)."""
    rows = list(rows)
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start : start + BATCH])
    return len(rows)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class QueryCounter:
    """SQL statements run, and the time spent in them (cursor execution only)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.count, self.seconds, self.slowest, self._started = 0, 0.0, (0.0, ""), None

    def before(self, *args, **kwargs):
        self.count += 1
        self._started = time.perf_counter()

    def after(self, conn, cursor, statement, *args, **kwargs):
        elapsed = time.perf_counter() - self._started
        self.seconds += elapsed
        if elapsed > self.slowest[0]:
            self.slowest = (elapsed, " ".join(statement.split())[:90])


def log_in(client, email: str) -> None:
    page = client.get("/auth/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    data = {"email": email, "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post("/auth/login", data=data)
    if response.status_code != 302:
        sys.exit(f"Logging in failed: {response.status_code}")


def seed_reference_data() -> None:
    """The territories and the plan's priorities and axes, as `flask extranet load-reference-data` loads them."""
    from extranet.plan.services import load_plan
    from extranet.territories.services import load_territories

    load_territories()
    load_plan()
    db.session.commit()


def set_sequences(tables) -> None:
    """Ids were given explicitly: on PostgreSQL, move the sequences past them and gather statistics."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


@contextmanager
def postgresql():
    """A throwaway PostgreSQL server, started like the test suite's (tests/conftest.py):
    ``with postgresql() as server: url = server.create_database("name")``."""
    from tests.conftest import PostgresServer

    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def time_pages(app, clients: dict, pages: dict, requests: int):
    """Each page of ``pages`` ({name: (client key, url)}), warmed up three times
    (templates compiled, first-visit bookkeeping written) with its SQL statements
    counted on the last, then requested ``requests`` times in turn. Returns
    ({name: (statements, ms in the database, (slowest s, statement))},
    {name: [ms per request]}, {name: [CPU ms of this process per request]}).
    On a busy machine the CPU time tells the work done from the waiting for a
    core. Exits on any answer but 200."""
    from sqlalchemy import event

    counter = QueryCounter()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter.before)
    event.listen(engine, "after_cursor_execute", counter.after)
    queries = {}
    try:
        for name, (who, url) in pages.items():
            for _ in range(3):
                counter.reset()
                response = clients[who].get(url)
                if response.status_code != 200:
                    sys.exit(f"{name}: {url} answered {response.status_code}")
            queries[name] = (counter.count, counter.seconds * 1000, counter.slowest)
    finally:
        event.remove(engine, "before_cursor_execute", counter.before)
        event.remove(engine, "after_cursor_execute", counter.after)
    timings: dict[str, list[float]] = {name: [] for name in pages}
    cpu: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(requests):
        for name, (who, url) in pages.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            response = clients[who].get(url)
            timings[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.process_time() - started_cpu) * 1000)
            if response.status_code != 200:
                sys.exit(f"{name}: {url} answered {response.status_code}")
    return queries, timings, cpu


def measure_like_a_worker(app, measure, *args) -> None:
    """Run ``measure(app, *args)`` as wsgi.py leaves a worker: start-up objects out
    of the collector's full passes (gc.freeze), then close the database's connections."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        measure(app, *args)
    finally:
        gc.unfreeze()
    with app.app_context():
        db.engine.dispose()
