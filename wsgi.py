"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import sys

from config import StartupError
from core import create_app

#: gunicorn's "the app failed to load": its master stops instead of starting workers again.
APP_LOAD_ERROR = 4

try:
    app = create_app()
except StartupError as error:  # one clear line, not a traceback
    print(f"hotline cannot start: {error}", file=sys.stderr)
    sys.exit(APP_LOAD_ERROR)
