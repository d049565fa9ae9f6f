"""The municipality a caller names, in the forms people say it, and the short menus."""

import pytest

from hotline.speech import (
    Place,
    dative,
    groups,
    hints,
    known_stems,
    match_place,
    match_topic,
    name_stems,
    spoken_topic,
)
from roster.demo import CATEGORIES, MUNICIPALITIES

#: Every demo municipality in at least three grammatical forms, as a caller says it.
SAID = {
    "tula": ["Тула", "в Туле", "из Тулы", "Тульский"],
    "aleksin": ["Алексин", "в Алексине", "Алексинский район"],
    "donskoy": ["Донской", "в Донском", "из Донского"],
    "efremov": ["Ефремов", "в Ефремове", "Ефремовский"],
    "novomoskovsk": ["Новомосковск", "в Новомосковске", "из Новомосковска"],
    "novogurovsky": ["Новогуровский", "в Новогуровском", "посёлок Новогуровский"],
    "slavny": ["Славный", "в Славном", "из Славного"],
    "arsenyevsky": ["Арсеньево", "Арсеньевский район", "в Арсеньевском районе"],
    "belevsky": ["Белёв", "в Белёве", "Белёвский район"],
    "bogoroditsky": ["Богородицк", "в Богородицке", "Богородицкий район"],
    "venevsky": ["Венёв", "в Венёве", "Венёвского района"],
    "volovsky": ["Волово", "Воловский район", "в Воловском районе"],
    "dubensky": ["Дубна", "в Дубне", "Дубенский район"],
    "zaoksky": ["Заокский", "в Заокском", "Заокского района"],
    "kamensky": ["Каменский район", "Архангельское", "в Каменском районе"],
    "kimovsky": ["Кимовск", "в Кимовске", "Кимовский район"],
    "kireevsky": ["Киреевск", "в Киреевске", "Киреевского района"],
    "kurkinsky": ["Куркино", "Куркинский район", "в Куркинском районе"],
    "odoevsky": ["Одоев", "в Одоеве", "Одоевский район"],
    "plavsky": ["Плавск", "в Плавске", "Плавский район"],
    "suvorovsky": ["Суворов", "в Суворове", "Суворовского района"],
    "teplo-ogarevsky": ["Тёпло-Огарёвский район", "в Тёплом", "Тёплое"],
    "uzlovsky": ["Узловая", "Узловский район", "в Узловой", "из Узловского района"],
    "chernsky": ["Чернь", "в Черни", "Чернский район"],
    "shchekinsky": ["Щёкино", "в Щёкино", "Щёкинский район"],
    "yasnogorsky": ["Ясногорск", "в Ясногорске", "Ясногорского района"],
}


@pytest.fixture(scope="module")
def places():
    return [
        Place(index, name, name_stems(name, known_stems(code)))
        for index, (code, name, _) in enumerate(MUNICIPALITIES, start=1)
    ]


def test_every_demo_municipality_has_three_forms():
    assert set(SAID) == {code for code, _, _ in MUNICIPALITIES}
    assert all(len(forms) >= 3 for forms in SAID.values())


@pytest.mark.parametrize(
    ("code", "said"), [(code, said) for code, forms in SAID.items() for said in forms]
)
def test_each_form_names_its_municipality(places, code, said):
    expected = next(index for index, (c, _, _) in enumerate(MUNICIPALITIES, start=1) if c == code)
    found = match_place(said, places)
    assert found is not None and found.id == expected, (said, found)


@pytest.mark.parametrize(
    "said", ["у нас нет тепла", "алло", "", "Москва", "дорога разбита", "дом не отапливается"]
)
def test_words_that_name_no_municipality(places, said):
    assert match_place(said, places) is None


def test_a_sentence_names_the_municipality_within_it(places):
    found = match_place("я звоню из Узловой, у нас нет света", places)
    assert found.name == "Узловский район"


def test_hints_hold_names_and_district_forms(places):
    said = hints(places)
    assert "Узловский район" in said and "Тула" in said and "Новомосковск" in said


@pytest.mark.parametrize(
    ("name", "after_po"),
    [
        ("Узловский район", "Узловскому району"),
        ("Город Тула", "городу Туле"),
        ("Город Донской", "городу Донскому"),
        ("Город Алексин", "городу Алексину"),
        ("Рабочий посёлок Славный", "рабочему посёлку Славному"),
    ],
)
def test_dative_after_po(name, after_po):
    assert dative(name) == after_po


def test_groups_never_hold_more_than_nine():
    assert [len(g) for g in groups(26)] == [7, 7, 6, 6]
    assert [len(g) for g in groups(9)] == [9]
    assert all(len(g) <= 8 for g in groups(80)) and len(groups(80)) <= 10
    assert sum(len(g) for g in groups(26)) == 26


def test_spoken_topics_are_short_and_matched():
    topics = [(index, seed.name) for index, seed in enumerate(CATEGORIES)]
    assert spoken_topic("ЖКХ: отопление") == "отопление"
    assert spoken_topic("Безопасность, ЧС, открытые люки") == "безопасность"
    assert spoken_topic("Письменное обращение (59-ФЗ)") == "письменное обращение"
    assert match_topic("нет отопления", topics) == 1
    assert match_topic("дороги", topics) == 5
    assert match_topic("не знаю", topics) is None
