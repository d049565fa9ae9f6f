"""The site's icon: linked from every page and answered at the browsers' default address."""

import re


def test_favicon_ico_answers_the_svg_icon_without_signing_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg")


def test_every_page_links_an_icon_that_loads(client):
    page = client.get("/login")
    [href] = re.findall(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page.text)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.data == client.get("/favicon.ico").data
