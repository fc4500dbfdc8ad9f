"""The import graph of models/, schema/, server/ and notifications/, read statically (ast): no
cycle among modules, and every import one way (docs/design.md section 12.1).

Every import counts wherever it stands: at module level, inside a function or method, under
`if TYPE_CHECKING:`, and a `strawberry.lazy("module")` annotation. An import inside a function
only postpones a cycle to the first call, and a type-only import is still a dependency a reader
must follow, so neither may hide one.

The one recursion allowed is the GraphQL schema's own: `Enterprise.visits` and
`Enterprise.agencyRequests` return the types whose `enterprise` field returns Enterprise (and
the read paths that build them). The API has it, so the code cannot lose it without merging
half the types into one module; those four edges are listed in ALLOWED_BACK_EDGES, must still
exist, and with them left out the graph must have no cycle at all.

Pure text checks: no database."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "schema", "server", "notifications")

# Which top-level package may import which (besides itself).
MAY_IMPORT = {
    "server": {"schema", "models", "notifications"},
    "schema": {"models"},
    "notifications": {"models"},
    "models": set(),
}

# Inside models/: each part imports only parts of its own rank or below.
MODELS_RANK = {
    "models": 0,  # the package's docstring
    "models.rules": 0,  # pure: no ORM, no database
    "models.errors": 0,
    "models.tables": 1,  # the ORM tables
    "models.messages": 1,  # the catalogues
    "models.db": 1,  # database plumbing
    "models.session_cache": 2,
    "models.access": 2,  # scope checks over the tables
    "models.ops": 3,  # operations and reads
    "models.demo": 4,  # demo data, loaded through the operations
    "models.migrations": 4,
}
PURE = ("models.rules", "models.errors")

ALLOWED_BACK_EDGES = {
    ("schema.types.enterprises", "schema.types.visits"),
    ("schema.types.enterprises", "schema.visit_reads"),
    ("schema.types.enterprises", "schema.types.agency"),
    ("schema.types.enterprises", "schema.agency_reads"),
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported(name: str, path: Path) -> Iterator[str]:
    """Every dotted name the module imports, as written (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for a in node.names:
                yield f"{base}.{a.name}"  # a submodule, or a name of `base` (resolved below)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "lazy"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


@cache  # parsed once for every test here; the tests only read it
def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for dotted in _imported(name, path):
            while dotted and dotted not in modules:
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name:
                targets.add(dotted)
        graph[name] = targets
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that reach each other (Tarjan), each sorted; singletons left out."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _describe(graph: dict[str, set[str]], group: list[str]) -> str:
    members = set(group)
    lines = [f"  {v} -> {', '.join(sorted(graph[v] & members))}" for v in group]
    return "\n".join([f"cycle among {len(group)} modules:", *lines])


def _models_part(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_graph_sees_imports_in_functions_type_checking_and_lazy_annotations() -> None:
    graph = import_graph()
    # A resolver's import inside its function, and strawberry.lazy in its annotation.
    assert "schema.visit_reads" in graph["schema.types.enterprises"]
    assert "schema.types.visits" in graph["schema.types.enterprises"]
    # A `from package import module` names the module.
    assert "models.ops.work_calendar" in graph["server.app"]


def test_no_import_cycle() -> None:
    graph = import_graph()
    stale = sorted(f"{a} -> {b}" for a, b in ALLOWED_BACK_EDGES if b not in graph.get(a, set()))
    assert not stale, f"allowed back edges that no longer exist (drop them): {stale}"
    pruned = {v: {w for w in ws if (v, w) not in ALLOWED_BACK_EDGES} for v, ws in graph.items()}
    cycles = [_describe(pruned, g) for g in strongly_connected(pruned)]
    assert not cycles, "\n".join(cycles)


def test_imports_point_one_way() -> None:
    wrong = [
        f"{v} -> {w}"
        for v, ws in import_graph().items()
        for w in ws
        if (a := v.split(".")[0]) != (b := w.split(".")[0]) and b not in MAY_IMPORT[a]
    ]
    assert not wrong, "imports against server → schema → models, notifications → models:\n" + (
        "\n".join(sorted(wrong))
    )


def test_models_parts_import_downward() -> None:
    graph = import_graph()
    parts = {_models_part(v) for v in graph if v.startswith("models.")}
    assert parts <= set(MODELS_RANK), f"a part of models/ without a rank: {parts - set(MODELS_RANK)}"
    wrong = [
        f"{v} -> {w}"
        for v, ws in graph.items()
        if v.startswith("models.")
        for w in ws
        if MODELS_RANK[_models_part(w)] > MODELS_RANK[_models_part(v)]
    ]
    assert not wrong, "imports up the layers of models/:\n" + "\n".join(sorted(wrong))


def test_pure_rules_import_no_orm() -> None:
    modules = _modules()
    wrong = [
        f"{name} imports {dotted}"
        for name, path in modules.items()
        if name.startswith(PURE)
        for dotted in _imported(name, path)
        if dotted.split(".")[0] == "tortoise"
        or (dotted.split(".")[0] in PACKAGES and not dotted.startswith(PURE))
    ]
    assert not wrong, "\n".join(sorted(wrong))
