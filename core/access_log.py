"""gunicorn's access log without the requests pages repeat on a timer (views marked `polled`)
and without the secrets in feed URLs (views marked `secret_url`)."""

from gunicorn.glogging import Logger

from core.logs import LOGGED_PATH, POLLED

#: Environ atoms (`%({name}e)s`) that carry the requested path.
_PATH_ENVIRON_ATOMS = ("{raw_uri}e", "{path_info}e", "{request_uri}e")


class QuietPollingLogger(Logger):
    """Log every request as gunicorn does, except the polled ones; hide secret paths."""

    def access(self, resp, req, environ, request_time):
        if not environ.get(POLLED):
            super().access(resp, req, environ, request_time)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get(LOGGED_PATH)
        if path:
            atoms["r"] = f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']}"
            atoms.update({"U": path, "q": "", "{query_string}e": ""})
            atoms.update({key: path for key in _PATH_ENVIRON_ATOMS if key in atoms})
        return atoms
