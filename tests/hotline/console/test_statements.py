"""The console's lists run the same SQL statements for five rows as for fifty."""

from urllib.parse import urlencode

from core.clock import utcnow
from core.extensions import db
from hotline.appeals import register_appeal
from hotline.models import Call
from tests.conftest import statements_naming_actors
from tests.factories import make_category, make_municipality
from tests.hotline.conftest import GOVERNOR_LINE


def _statements_for_5_and_50(client, url: str, add_row) -> tuple[list[str], list[str]]:
    """Return the statements of the page with five rows, then with fifty."""
    return statements_naming_actors(client, url, add_row, counts=(5, 50))


def _operator_appeal(index: int, operator) -> str:
    """Register an appeal of its own municipality and category, as the operator did."""
    place = make_municipality(f"m{index:02d}", f"Район номер {index:02d}")
    category = make_category(f"topic{index:02d}")
    appeal = register_appeal(
        channel="operator",
        municipality=place,
        category=category,
        caller_number=f"+7916000{index:04d}",
        created_by_id=operator.id,
        address=f"улица Поисковая, {index}",
        text="Яма",
    )
    return appeal.number


def test_the_queue_runs_the_same_statements_for_5_and_50_callers(console, region):
    def waiting_call(index: int) -> str:
        number = f"+7916100{index:04d}"
        db.session.add(
            Call(
                call_sid=f"CA-queued-{index}",
                from_number=number,
                to_number=GOVERNOR_LINE,
                entry="governor",
                queued_at=utcnow(),
            )
        )
        register_appeal(
            channel="phone",
            municipality=region.place,
            category=region.roads,
            caller_number=number,
            caller_name=f"Звонящий {index}",
        )
        return number

    five, fifty = _statements_for_5_and_50(console, "/console/queue", waiting_call)
    assert len(five) == len(fifty)


def test_the_control_list_runs_the_same_statements_for_5_and_50_appeals(console, operator):
    five, fifty = _statements_for_5_and_50(
        console,
        "/console/control?scope=centre",
        lambda index: _operator_appeal(index, operator),
    )
    assert len(five) == len(fifty)


def test_search_runs_the_same_statements_for_5_and_50_results(console, operator):
    url = "/console/search?" + urlencode({"address": "Поисковая"})
    five, fifty = _statements_for_5_and_50(
        console, url, lambda index: _operator_appeal(index, operator)
    )
    assert len(five) == len(fifty)
