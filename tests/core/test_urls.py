"""Absolute URLs come from PUBLIC_BASE_URL, on pages as in SMS and webhooks."""

from flask import render_template_string


def test_pages_build_absolute_links_on_public_base_url_not_the_host_header(app):
    app.config["PUBLIC_BASE_URL"] = "https://hotline.example"
    with app.test_request_context("/", base_url="http://attacker.example"):
        link = render_template_string("{{ public_url(url_for('static', filename='app.css')) }}")
    assert link == "https://hotline.example/static/app.css"
