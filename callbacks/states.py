"""Which action may act on a card or an appeal in which state, and the state it leads to.

The one table every card and appeal service checks before it changes anything; a state an
action does not list refuses it with a `StateError` (the cabinet shows it in Russian, the API
answers 409 with a stable code).
"""

from callbacks.models import CardState
from hotline.models import AppealStatus

NEW, ACKNOWLEDGED, CALLED_BACK, CLOSED = (
    CardState.NEW,
    CardState.ACKNOWLEDGED,
    CardState.CALLED_BACK,
    CardState.CLOSED,
)
#: A reopened card gets back the state it had before it closed (called back, acknowledged, new).
PREVIOUS = "previous"

#: Card action -> {card state it may act on: state it leads to}.
CARD_TRANSITIONS: dict[str, dict[str, str]] = {
    # cabinet and API
    "acknowledge": {NEW: ACKNOWLEDGED, ACKNOWLEDGED: ACKNOWLEDGED},
    "note": {state: state for state in CardState},
    "photo": {state: state for state in CardState},
    "forward": {NEW: NEW, ACKNOWLEDGED: NEW},
    "callback": {NEW: NEW, ACKNOWLEDGED: ACKNOWLEDGED, CALLED_BACK: CALLED_BACK},
    "outcome": {NEW: CLOSED, ACKNOWLEDGED: CLOSED, CALLED_BACK: CLOSED},
    # workers and the carrier
    "remind": {NEW: NEW},
    "escalate": {NEW: NEW, ACKNOWLEDGED: ACKNOWLEDGED},
    "mark-overdue": {NEW: NEW, ACKNOWLEDGED: ACKNOWLEDGED},
    "called-back": {NEW: CALLED_BACK, ACKNOWLEDGED: CALLED_BACK},
    # with its appeal: resolved or closed, then reopened or taken back into work
    "close": {NEW: CLOSED, ACKNOWLEDGED: CLOSED, CALLED_BACK: CLOSED},
    "reopen": {CLOSED: PREVIOUS},
}

ROUTING, IN_WORK, MISSED, RESOLVED, REOPENED = (
    AppealStatus.ROUTING,
    AppealStatus.IN_WORK,
    AppealStatus.MISSED,
    AppealStatus.RESOLVED,
    AppealStatus.REOPENED,
)
_NOT_CLOSED = (ROUTING, IN_WORK, MISSED, RESOLVED, REOPENED)

#: Appeal action -> {appeal status it may act on: status it leads to}.
APPEAL_TRANSITIONS: dict[str, dict[str, str]] = {
    # cabinet (a card's outcome) and API
    "resolve": {status: RESOLVED for status in (ROUTING, IN_WORK, MISSED, REOPENED)},
    "take-into-work": {status: IN_WORK for status in (ROUTING, MISSED, RESOLVED, REOPENED)},
    "close": {status: AppealStatus.CLOSED for status in _NOT_CLOSED},
    # the citizen's answer to "is it solved"
    "confirm": {RESOLVED: AppealStatus.CLOSED},
    "reject": {RESOLVED: REOPENED},
}

_TABLES = {"card": CARD_TRANSITIONS, "appeal": APPEAL_TRANSITIONS}


class StateError(ValueError):
    """An action refused by the state of the card or appeal it would act on."""

    def __init__(self, subject: str, action: str, state: str):
        super().__init__(f"the {subject} is {state}: {action} is not allowed")
        self.subject, self.action, self.state = subject, action, state
        self.field = None

    @property
    def code(self) -> str:
        """The API's stable error code."""
        if self.state == CLOSED:
            return "closed" if self.subject == "appeal" else "card_closed"
        if self.state == target_of(self.subject, self.action):
            return "same_status"
        return "invalid_state"


def target_of(subject: str, action: str) -> str | None:
    """Return the one state an action leads to from every state it acts on, if it is one."""
    targets = set(_TABLES[subject][action].values())
    return targets.pop() if len(targets) == 1 else None


def allows(subject: str, action: str, state: str) -> bool:
    """Return whether the table lets `action` act on a `subject` ("card", "appeal") in `state`."""
    return state in _TABLES[subject][action]


def states_for(subject: str, action: str) -> tuple[str, ...]:
    """Return the states an action may act on."""
    return tuple(_TABLES[subject][action])


def check_card(card, action: str) -> str:
    """Refuse a card action its state does not allow (StateError); return the state it leads to."""
    return _check("card", action, card.state)


def check_appeal(appeal, action: str) -> str:
    """Refuse an appeal action its status does not allow (StateError); return where it leads."""
    return _check("appeal", action, appeal.status)


def _check(subject: str, action: str, state: str) -> str:
    transitions = _TABLES[subject][action]
    if state not in transitions:
        raise StateError(subject, action, state)
    return transitions[state]
