"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from extranet import create_app

app = create_app()
# What start-up made lives as long as the worker: keep it out of the cyclic
# collector's full passes, which otherwise pause a request for tens of
# milliseconds now and then (bench/agenda.py: calendar feed p95 81 → 35 ms).
gc.collect()
gc.freeze()
