"""Signals the hotline sends to higher packages (callbacks/ subscribes)."""

from blinker import Namespace

_signals = Namespace()

#: Sent once per call when nobody in the duty chain accepted: `send(call, appeal=appeal)`.
#: Subscribers add to the session; the webhook that sent it commits.
chain_exhausted = _signals.signal("chain-exhausted")

#: Sent when an operator registered an appeal that goes to its municipality without a duty
#: chain (the caller declined to be connected): `send(appeal, call=call)`. Subscribers add to
#: the session; the view that sent it commits.
appeal_registered = _signals.signal("appeal-registered")

#: Sent by the operator console to learn when appeals are next checked: `send(appeal_ids)`;
#: each receiver returns `{appeal_id: datetime | None}` for the appeals it tracks.
next_checkins_wanted = _signals.signal("next-checkins-wanted")
