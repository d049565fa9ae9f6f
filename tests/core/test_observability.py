"""Metrics, log lines with their context, security headers and production settings."""

import json
import logging

import pytest

from config import load_config
from core.jobs import record_worker_heartbeat
from core.logs import ContextFilter, bind_log_context
from core.queue import get_queue


def test_metrics_expose_request_latency_and_queue_depth(app, client):
    client.get("/healthz")
    get_queue().enqueue(record_worker_heartbeat)
    body = client.get("/metrics").text
    assert 'hotline_request_duration_seconds_count{endpoint="health.healthz"}' in body
    assert 'hotline_queue_depth{queue="default"} 1.0' in body
    assert 'hotline_jobs_failed{queue="default"} 0.0' in body


def test_metrics_token_is_required_when_set(app, client):
    app.config["METRICS_TOKEN"] = "s3cret"
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_every_log_line_carries_request_id_call_sid_and_appeal(app):
    record = logging.LogRecord("hotline", logging.INFO, __file__, 1, "chain exhausted", None, None)
    with app.test_request_context(
        "/voice/x", method="POST", data={"CallSid": "CA42"}, headers={"X-Request-ID": "req-7"}
    ):
        app.preprocess_request()
        bind_log_context(appeal="26-000001")
        ContextFilter().filter(record)
    assert (record.request_id, record.call_sid, record.appeal) == ("req-7", "CA42", "26-000001")


def test_json_log_format_writes_one_object_per_line(app):
    from pythonjsonlogger.json import JsonFormatter

    from core.logs import JSON_FIELDS

    record = logging.LogRecord("hotline", logging.INFO, __file__, 1, "call %s", ("CA1",), None)
    ContextFilter().filter(record)
    line = JsonFormatter(JSON_FIELDS).format(record)
    assert json.loads(line) | {"asctime": None} == {
        "asctime": None,
        "levelname": "INFO",
        "name": "hotline",
        "message": "call CA1",
        "request_id": "-",
        "call_sid": "-",
        "appeal": "-",
    }


def test_responses_carry_security_headers_and_a_request_id(client):
    response = client.get("/login", headers={"X-Request-ID": "abc"})
    assert response.headers["X-Request-ID"] == "abc"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config({"HOTLINE_ENV": "production"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_POOL_SIZE", "four"),
        ("DATABASE_POOL_SIZE", "0"),
        ("RECORDING_RETENTION_DAYS", "0"),
        ("PHOTO_RETENTION_DAYS", "1.5"),
        ("IDEMPOTENCY_KEY_RETENTION_DAYS", "-1"),
        ("CALLER_RATE_LIMIT", "5 per 10 minutes"),
        ("CALLER_RATE_LIMIT", "5/0"),
        ("TWILIO_HTTP_TIMEOUT", "0"),
        ("TWILIO_HTTP_TIMEOUT", "ten"),
    ],
)
def test_a_malformed_number_setting_is_refused_by_name(name, value):
    with pytest.raises(RuntimeError, match=name):
        load_config({name: value})


def test_number_settings_are_read_and_default_when_empty():
    settings = load_config(
        {"DATABASE_POOL_SIZE": "8", "CALLER_RATE_LIMIT": "3/60", "PHOTO_RETENTION_DAYS": ""}
    )
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 8
    assert settings["CALLER_RATE_LIMIT"] == (3, 60)
    assert settings["PHOTO_RETENTION_DAYS"] == 730


def test_twilio_host_and_timeout_default_to_twilio_and_ten_seconds():
    assert load_config({})["TWILIO_API_BASE_URL"] == "https://api.twilio.com"
    assert load_config({})["TWILIO_HTTP_TIMEOUT"] == 10.0
    settings = load_config(
        {"TWILIO_API_BASE_URL": "http://127.0.0.1:8099/", "TWILIO_HTTP_TIMEOUT": "2.5"}
    )
    assert (settings["TWILIO_API_BASE_URL"], settings["TWILIO_HTTP_TIMEOUT"]) == (
        "http://127.0.0.1:8099",
        2.5,
    )


def test_production_turns_on_secure_cookies_hsts_and_json_logs(app):
    from core import create_app
    from tests.core.test_startup import PRODUCTION

    settings = load_config(PRODUCTION)
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["LOG_FORMAT"] == "json"
    production = create_app({**app.config, **PRODUCTION})
    response = production.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_phone_numbers_are_masked_but_keep_their_code_and_ending():
    from core.privacy import mask_phone

    assert mask_phone("+79161234567") == "+7916*****67"
    assert mask_phone(None) is None and mask_phone("112") == "112"


def test_production_refuses_to_start_without_a_metrics_token_or_private_listener():
    import pytest

    from config import StartupError
    from tests.core.test_startup import PRODUCTION

    without = {key: value for key, value in PRODUCTION.items() if key != "METRICS_TOKEN"}
    with pytest.raises(StartupError, match="METRICS_TOKEN"):
        load_config(without)
    with pytest.raises(StartupError, match="METRICS_PRIVATE_LISTENER"):
        load_config(without | {"METRICS_PRIVATE_LISTENER": "8.8.8.8:9100"})
    assert load_config(without | {"METRICS_PRIVATE_LISTENER": "10.0.0.5:9100"})


def test_with_a_private_listener_metrics_are_served_there_only(app):
    from werkzeug.test import Client

    from core.metrics import private_metrics_app

    app.config["METRICS_PRIVATE_LISTENER"] = "127.0.0.1:5231"
    assert app.test_client().get("/metrics").status_code == 404
    private = Client(private_metrics_app(app))
    assert "hotline_queue_depth" in private.get("/metrics").get_data(as_text=True)
    assert private.get("/login").status_code == 404
