"""The second factor: a TOTP code from an authenticator app, set up by scanning a QR code once."""

import io

import pyotp
import segno
from flask import current_app

from core.events import record_event
from core.models import User

#: The issuer name the authenticator app shows beside the account.
ISSUER = "Hotline"


def second_factor_required(user: User) -> bool:
    """Return whether this user signs in with a code as well (set up, or required for the role)."""
    return bool(user.totp_secret) or user.role in current_app.config["REQUIRE_2FA_FOR"]


def new_totp_secret() -> str:
    """Return a fresh random base32 secret."""
    return pyotp.random_base32()


def totp_qr_svg(user: User, secret: str) -> str:
    """Return the QR code of the provisioning URI as inline SVG markup."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def code_matches(secret: str, code: str) -> bool:
    """Return whether a six-digit code is valid now (one step of clock drift allowed)."""
    code = (code or "").replace(" ", "")
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


def enable_second_factor(user: User, secret: str) -> None:
    """Keep the secret the user has just proved to hold."""
    user.totp_secret = secret
    record_event("user", user.id, "totp.enabled", actor=user)


def reset_second_factor(user: User, actor: User | None = None) -> None:
    """Forget a user's second factor (lost phone): they set up a new one at the next sign-in."""
    user.totp_secret = None
    user.end_sessions()
    record_event("user", user.id, "totp.reset", actor=actor, actor_label=None if actor else "cli")
