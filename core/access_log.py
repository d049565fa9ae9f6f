"""gunicorn's access log without the requests pages repeat on a timer (views marked `polled`)."""

from gunicorn.glogging import Logger

from core.logs import POLLED


class QuietPollingLogger(Logger):
    """Log every request as gunicorn does, except the polled ones."""

    def access(self, resp, req, environ, request_time):
        if not environ.get(POLLED):
            super().access(resp, req, environ, request_time)
