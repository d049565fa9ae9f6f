"""Prompts as data: one place, their Russian wording, and the managers' page that lists them."""

from hotline.prompts import DEFAULTS
from tests.conftest import login
from tests.factories import make_user


def test_managers_see_every_prompt_with_its_wording(app, client):
    app.config["VOICE_PROMPTS"] = {"greeting": "Добрый день! Горячая линия губернатора."}
    make_user("boss", "manager")
    login(client, "boss")
    page = client.get("/prompts/")
    assert page.status_code == 200
    for key in ("ask_municipality", "topic_other", "incident", "known_appeal"):
        assert f'data-key="{key}"' in page.text and DEFAULTS[key].split("{")[0] in page.text
    assert "Добрый день! Горячая линия губернатора." in page.text
    assert page.text.count("<tr data-key=") == len(DEFAULTS)


def test_operators_may_not_open_the_prompts_page(client):
    make_user("op", "operator")
    login(client, "op")
    assert client.get("/prompts/").status_code == 403
