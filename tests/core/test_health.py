"""/healthz and /readyz."""

from core import create_app
from core.queue import redis_url_of, start_embedded_redis


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_probes_say_nothing_about_versions_or_configuration(app, client):
    from importlib.metadata import version

    for path in ("/healthz", "/readyz"):
        answer = client.get(path)
        body = answer.get_data(as_text=True).lower()
        assert set(answer.json) <= {"status", "problems"}
        for secret in (version("flask"), version("sqlalchemy"), "sqlite", "redis://", "python"):
            assert secret not in body
        assert "Server" not in answer.headers or "/" not in answer.headers["Server"]


def test_readyz_is_200_with_database_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["status"] == "ok"


def test_readyz_is_503_when_redis_stops(app, tmp_path):
    server = start_embedded_redis(str(tmp_path / "own-redis.db"))
    config = {**app.config, "REDIS_URL": redis_url_of(server)}
    own_app = create_app(config)
    client = own_app.test_client()
    assert client.get("/readyz").status_code == 200
    server.shutdown(nosave=True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["problems"] == {"redis": "down"}  # the driver's error is only logged
