"""How many SQL statements each voice webhook runs: the budget that keeps a webhook fast."""

import re
from collections import defaultdict

import pytest
from sqlalchemy import event

from core.extensions import db
from core.telephony.sim import CallerScript, SimCarrier, answers_and_presses, no_answer
from core.telephony.sim.transport import InProcessTransport
from tests.hotline.conftest import CITIZEN

DUTY_NUMBER = "+74872700101"


class CountingTransport(InProcessTransport):
    """Counts the statements the app runs for each webhook path."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.statements: dict[str, list[int]] = defaultdict(list)
        self._current = [0]

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_args) -> None:
            self._current[0] += 1

    def request(self, method, path, params, headers):
        self._current[0] = 0
        answer = super().request(method, path, params, headers)
        self.statements[re.sub(r"/\d+", "/N", path.split("?")[0])].append(self._current[0])
        return answer


@pytest.fixture
def counting_carrier(app, region):
    transport = CountingTransport(app)
    carrier = SimCarrier(
        transport,
        auth_token=app.config["TWILIO_AUTH_TOKEN"],
        public_base_url=app.config["PUBLIC_BASE_URL"],
    )
    return carrier, transport.statements


def test_each_step_of_a_duty_chain_stays_within_its_statement_budget(counting_carrier, region):
    carrier, statements = counting_carrier
    carrier.phone(region.primary.phone, no_answer())
    carrier.phone(region.backup.phone, answers_and_presses("1"))

    carrier.incoming_call(CITIZEN, DUTY_NUMBER, CallerScript())

    # the names the official hears come in the whisper's URL
    assert statements["/voice/chain/N/N/whisper"] == [0]
    # the call with its attempts and appeal (one query), the attempt's result, its event and
    # the next attempt; then the backup's result after the bridge
    assert statements["/voice/chain/N/N/result"] == [4, 3]
    # the call, the key press and its event, the call's outcome, the appeal and its event
    assert statements["/voice/chain/N/N/accept"] == [6]
    assert statements["/voice/status"] == [2]
    # the duty number, the call, the refusal checks, who is on duty, the call's routing, the
    # appeal and its number, the first attempt and the three events (each written as it
    # happens: one statement, no unit of work)
    assert statements["/voice/incoming"] == [12]
