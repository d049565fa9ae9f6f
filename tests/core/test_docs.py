"""README.md keeps up with the code."""

from config import BASE_DIR, VARIABLES


def test_readme_documents_every_setting():
    readme = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    assert [name for name in VARIABLES if f"| `{name}` |" not in readme] == []
