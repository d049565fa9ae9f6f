"""Signals the hotline sends to higher packages (callbacks/ subscribes)."""

from blinker import Namespace

_signals = Namespace()

#: Sent once per call when nobody in the duty chain accepted: `send(call, appeal=appeal)`.
#: Subscribers add to the session; the webhook that sent it commits.
chain_exhausted = _signals.signal("chain-exhausted")
