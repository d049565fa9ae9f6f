"""The console's softphone: the operator's identity and her short-lived Twilio access token."""

import re

from flask import current_app
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from core.models import User


class SoftphoneUnavailable(RuntimeError):
    """The Twilio account has no API key for softphone tokens."""


def softphone_identity(user: User) -> str:
    """Return the Twilio Client identity of the operator (`client:<identity>` on her shift)."""
    return "operator-" + re.sub(r"[^\w.@-]", "_", user.username)


def access_token(user: User) -> tuple[str, int]:
    """Return a signed access token with a voice grant for the operator, and its lifetime."""
    config = current_app.config
    if not (config.get("TWILIO_API_KEY") and config.get("TWILIO_API_SECRET")):
        raise SoftphoneUnavailable("no TWILIO_API_KEY / TWILIO_API_SECRET")
    seconds = config["SOFTPHONE_TOKEN_SECONDS"]
    token = AccessToken(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_API_KEY"],
        config["TWILIO_API_SECRET"],
        identity=softphone_identity(user),
        ttl=seconds,
    )
    token.add_grant(
        VoiceGrant(incoming_allow=True, outgoing_application_sid=config["TWILIO_TWIML_APP_SID"])
    )
    return token.to_jwt(), seconds
