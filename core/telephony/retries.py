"""When a call action the carrier did not carry out for a passing reason is tried again."""

from datetime import datetime, timedelta

from core.clock import utcnow
from core.telephony.gateway import CarrierError

#: Tries of a call action in all, the first included.
CALL_MAX_TRIES = 3
#: Waits before the second and third try of a click-to-call or a notice call.
CALL_RETRY_DELAYS = (timedelta(seconds=15), timedelta(seconds=60))
#: Waits before the second and third try of a redirect while the caller holds.
REDIRECT_RETRY_DELAYS = (timedelta(seconds=3), timedelta(seconds=10))
#: The longest wait a carrier's `Retry-After` may impose while the caller holds.
REDIRECT_RETRY_AFTER = timedelta(seconds=30)
#: The longest wait a carrier's `Retry-After` may impose on a call action.
LONGEST_CALL_RETRY_AFTER = timedelta(minutes=3)


def next_try_at(
    error: CarrierError,
    tries: int,
    delays: tuple[timedelta, ...] = CALL_RETRY_DELAYS,
    longest: timedelta = LONGEST_CALL_RETRY_AFTER,
) -> datetime | None:
    """Return when to try again an action that failed on try `tries`; None when never again."""
    if error.permanent or tries >= min(CALL_MAX_TRIES, len(delays) + 1):
        return None
    delay = delays[tries - 1]
    if error.retry_after is not None:  # the carrier asked to wait (429 `Retry-After`)
        delay = max(delay, min(error.retry_after, longest))
    return utcnow() + delay
