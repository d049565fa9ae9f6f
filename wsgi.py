"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import sys

from config import StartupError
from core import create_app

try:
    app = create_app()
except StartupError as error:  # one clear line, not a traceback
    sys.exit(f"hotline cannot start: {error}")
