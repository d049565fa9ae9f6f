"""The card services never import the jobs that call them: no import circle in callbacks."""

import ast
from pathlib import Path

import callbacks.services


def imported_modules(path: Path) -> set[str]:
    """Return the modules a file imports anywhere in it (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_card_service_imports_the_jobs_module():
    folder = Path(callbacks.services.__file__).parent
    importing = [
        path.name
        for path in sorted(folder.glob("*.py"))
        if "callbacks.jobs" in imported_modules(path)
    ]
    assert importing == []
