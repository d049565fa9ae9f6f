"""The API tests' world (municipalities, users with tokens) for the core tests too."""

from tests.api.conftest import world  # noqa: F401  (the fixture)
