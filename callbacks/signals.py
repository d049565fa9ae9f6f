"""Receivers of the hotline's signals: a chain exhausted, an appeal sent on, checkins asked."""

from callbacks import services
from hotline.signals import appeal_registered, chain_exhausted, next_checkins_wanted


def on_chain_exhausted(call, appeal=None, **extra) -> None:
    """Open the call's card when nobody in its duty chain accepted (the webhook commits)."""
    if appeal is not None:
        services.open_card(call, appeal)


def on_appeal_registered(appeal, call=None, **extra) -> None:
    """Open the card of an appeal an operator sent to its municipality without a duty chain."""
    if call is not None:
        services.open_registered_card(call, appeal)


def on_next_checkins_wanted(appeal_ids, **extra) -> dict:
    """Tell the operator console when each tracked appeal is checked next."""
    return services.next_checkins(appeal_ids)


def connect_receivers() -> None:
    """Connect the receivers to the hotline's signals (connecting again is a no-op)."""
    chain_exhausted.connect(on_chain_exhausted, weak=False)
    appeal_registered.connect(on_appeal_registered, weak=False)
    next_checkins_wanted.connect(on_next_checkins_wanted, weak=False)
