"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from extranet import create_app

app = create_app()
