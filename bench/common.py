"""What the benchmarks share: names, batched inserts, a percentile, an SQL statement
counter, logging in through the real form. The scripts put the project's root on
sys.path first."""

import re
import sys
import time

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
