"""The packages import one way down, and no modules import each other in a circle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Lower layers first; a module may import only its own layer and the ones below it. `config`
#: (settings, importing no project module) is the ground; `wsgi` and `bench` stand on top.
LAYERS = ("config", "core", "roster", "hotline", "callbacks", "reports")
TOP = ("wsgi", "bench")
#: The app factory (`create_app` in core/__init__.py) registers every feature: the one place a
#: lower layer names the higher ones, inside the function.
FACTORY = "core"


def _module_files() -> dict[str, Path]:
    """Return every project module (outside tests and migrations) by dotted name."""
    files = {}
    for package in (*LAYERS, *TOP):
        if (ROOT / f"{package}.py").exists():
            files[package] = ROOT / f"{package}.py"
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path, known) -> set[str]:
    """Return the project modules one import statement names (a submodule when it is one)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
            for alias in node.names
        ]
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def _imports() -> dict[str, tuple[set[str], set[str]]]:
    """Return, per module, the project modules it imports at module level and in functions."""
    files = _module_files()
    result = {}
    for module, path in files.items():
        at_top: set[str] = set()
        in_functions: set[str] = set()
        pending = [(node, False) for node in ast.parse(path.read_text(encoding="utf-8")).body]
        while pending:
            node, deferred = pending.pop()
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = _targets(node, module, path, files) - {module}
                (in_functions if deferred else at_top).update(targets)
            nested = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            deferred = deferred or nested or _is_type_checking(node)
            pending.extend((child, deferred) for child in ast.iter_child_nodes(node))
        result[module] = (at_top, in_functions)
    return result


def _circle_edges(module: str, at_top: set[str], in_functions: set[str]) -> set[str]:
    """Return the imports that can close a circle.

    An import deferred into a function still runs before the function's work, so it closes a
    circle as well (that is how the circles hid); only a package's own wiring is left out: the
    functions of its `__init__` (`init_app`, `get_gateway`) importing the package's modules.
    """
    if _MODULE_FILES[module].name == "__init__.py":
        in_functions = {target for target in in_functions if not target.startswith(f"{module}.")}
    return at_top | in_functions


def _is_type_checking(node: ast.AST) -> bool:
    """Return whether the node is `if TYPE_CHECKING:`, whose imports never run."""
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING"


_MODULE_FILES = _module_files()


def _layer(module: str) -> int:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else len(LAYERS)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def test_lower_layers_never_import_higher_ones():
    wrong = [
        f"{module} imports {target}"
        for module, (at_top, in_functions) in sorted(_imports().items())
        for target in sorted(at_top | (set() if module == FACTORY else in_functions))
        if _layer(target) > _layer(module)
    ]
    print("\n".join(wrong))
    assert wrong == []


def test_no_import_circle():
    graph = {module: _circle_edges(module, *edges) for module, edges in _imports().items()}
    cycles = _cycles(graph)
    print("\n".join("circle: " + " <-> ".join(cycle) for cycle in cycles))
    assert cycles == []


def test_the_checks_find_a_circle_and_read_submodules():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "b": {"a.x"}}
    assert _cycles(graph) == [["a.x", "a.y", "a.z"]]
    node = ast.parse("from roster import services, rules\nfrom . import jobs").body
    known = {"roster", "roster.services", "roster.services.jobs"}
    path = ROOT / "roster/services/common.py"
    assert _targets(node[0], "roster.services.common", path, known) == {
        "roster.services",
        "roster",
    }
    assert _targets(node[1], "roster.services.common", path, known) == {"roster.services.jobs"}
