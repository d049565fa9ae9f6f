"""The app and a bare Flask endpoint in one WSGI server, so a benchmark compares them in one run."""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from core import create_app

bare = Flask("bare")


@bare.get("/ping")
def ping():
    """The smallest Flask answer: the baseline every webhook is compared with."""
    return "pong"


hotline_app = create_app()
app = DispatcherMiddleware(hotline_app, {"/bare": bare})
