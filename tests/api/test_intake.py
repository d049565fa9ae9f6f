"""Finding the responsible municipality from an address or a point, without a geocoder."""

import pytest

from hotline.intake import centres, locate_municipality, municipality_from_address


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("г. Тула, ул. Ленина, 1", "tula"),
        ("Тула", "tula"),
        ("Тульская область, г. Щёкино, ул. Лукашина, 5", "shchekinsky"),
        ("Щёкинский р-н, п. Огарёвка", "shchekinsky"),
        ("ул. Щёкинская, г. Тула", "tula"),
        ("обл. Тульская, в Туле на Красноармейском", "tula"),
    ],
)
def test_address_names_the_municipality(world, address, code):
    assert municipality_from_address(address).code == code


def test_unknown_places_and_far_points_give_nothing(world):
    assert municipality_from_address("Москва, Тверская, 1") is None
    assert municipality_from_address("") is None
    assert locate_municipality(None, 55.75, 37.62) is None  # Moscow
    assert locate_municipality("нигде", 54.01, 37.50).code == "shchekinsky"


def test_every_demo_municipality_has_a_centre():
    from roster.demo import MUNICIPALITIES

    assert {code for code, _, _ in MUNICIPALITIES} == set(centres())
