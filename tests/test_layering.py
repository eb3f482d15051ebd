"""The layering of the code (docs/architecture.md), checked on every import statement of
every module, at any depth of the file (lazy imports in functions and TYPE_CHECKING
blocks included):

    cli, local_mesh                      the applications people run
      ^
    services | control_plane | offline  the three processes' code, apart from each other
      ^
    recmesh.core                         the recommendation core
      ^
    recmesh (every other package)        the shared library, recmesh.api included

A module may import its own layer's package and the layers below it, never one above;
the three middle packages never import each other; the applications never import a
service and the control plane never imports the core (FORBIDDEN); within the shared
library no two packages import each other, directly or round a loop. testkit/, bench/,
scripts/ and tests/ sit above everything and are imported by nothing in these layers;
testkit/ never imports tests/.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from recmesh.files.repo_paths import REPO_ROOT

#: Top-level packages and where they sit; higher numbers may import lower ones.
LAYERS: dict[str, int] = {
    "recmesh": 0,
    "recmesh.core": 1,
    "services": 2,
    "control_plane": 2,
    "offline": 2,
    "cli": 3,
    "local_mesh": 3,
    "testkit": 4,
    "bench": 4,
    "scripts": 4,
    "tests": 4,
}
#: Packages of one layer that are kept apart from each other.
APART = {"services", "control_plane", "offline"}
#: The CLI starts the local mesh (`recmesh up`); the mesh never calls the CLI.
ALLOWED_SIDEWAYS = {("cli", "local_mesh")}
#: Arrows that point down but are kept out all the same: the applications reach the
#: serving mesh only over gRPC (they start its processes, never import them), and the
#: control plane judges bundles without the recommendation core.
FORBIDDEN = {
    ("cli", "services"),
    ("local_mesh", "services"),
    ("control_plane", "recmesh.core"),
    ("testkit", "tests"),
}
LAYERED = ("recmesh", "services", "control_plane", "offline", "cli", "local_mesh", "testkit")


def package_of(module: str) -> str | None:
    """The LAYERS key a dotted module name belongs to; None for third-party modules."""
    parts = module.split(".")
    if parts[:2] == ["recmesh", "core"]:
        return "recmesh.core"
    return parts[0] if parts[0] in LAYERS else None


def library_package_of(module: str) -> str:
    """`recmesh.rpc` for recmesh.rpc.errors: the shared library's folders."""
    return ".".join(module.split(".")[:2])


def module_name(path: Path) -> str:
    relative = path.relative_to(REPO_ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file. `from a import b` yields
    a.b too, so `from recmesh import core` is seen as an import of recmesh.core; a
    relative import is resolved against the file's package."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def source_files(*roots: str) -> list[Path]:
    return sorted(
        path
        for root in roots
        for path in (REPO_ROOT / root).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def arrow_is_allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if (importer, imported) in FORBIDDEN:
        return False
    if (importer, imported) in ALLOWED_SIDEWAYS:
        return True
    if importer in APART and imported in APART:
        return False
    return LAYERS[imported] < LAYERS[importer]


def test_every_import_points_down_the_layers() -> None:
    """Every import of our own code goes to the same package or a lower layer; none runs
    upward or sideways between services, control_plane and offline."""
    files = source_files(*LAYERED)
    assert len(files) > 300
    wrong = []
    for path in files:
        importer = package_of(module_name(path))
        assert importer is not None, path
        for line, module in imports_of(path):
            imported = package_of(module)
            if imported is not None and not arrow_is_allowed(importer, imported):
                where = f"{path.relative_to(REPO_ROOT)}:{line}"
                wrong.append(f"{where} ({importer}) imports {module} ({imported})")
    assert wrong == []


def test_the_layering_check_sees_an_upward_arrow() -> None:
    """The rule itself refuses the arrows that must not exist."""
    assert not arrow_is_allowed("recmesh", "recmesh.core")
    assert not arrow_is_allowed("recmesh.core", "services")
    assert not arrow_is_allowed("offline", "services")
    assert not arrow_is_allowed("services", "control_plane")
    assert not arrow_is_allowed("control_plane", "cli")
    assert not arrow_is_allowed("local_mesh", "cli")
    assert not arrow_is_allowed("cli", "tests")
    assert not arrow_is_allowed("local_mesh", "services")
    assert not arrow_is_allowed("cli", "services")
    assert not arrow_is_allowed("control_plane", "recmesh.core")
    assert not arrow_is_allowed("testkit", "tests")
    assert arrow_is_allowed("cli", "offline")
    assert arrow_is_allowed("services", "recmesh.core")
    assert package_of("recmesh.core.features.schema") == "recmesh.core"
    assert package_of("recmesh.rpc.errors") == "recmesh"
    assert package_of("numpy") is None


def _library_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in source_files("recmesh"):
        name = module_name(path)
        if package_of(name) != "recmesh" or name == "recmesh":
            continue
        importer = library_package_of(name)
        targets = graph.setdefault(importer, set())
        for _, module in imports_of(path):
            if package_of(module) == "recmesh" and "." in module:
                imported = library_package_of(module)
                if imported != importer:
                    targets.add(imported)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each loop of the graph once, as the list of nodes round it (depth-first)."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                loop = path[path.index(target) :]
                if frozenset(loop) not in seen:
                    seen.add(frozenset(loop))
                    found.append([*loop, target])
            else:
                walk(target, [*path, target])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_no_two_library_packages_import_each_other() -> None:
    """The shared library's packages (recmesh.rpc, recmesh.telemetry, recmesh.etcd, ...)
    form no loop: each can be understood from the ones it imports."""
    graph = _library_graph()
    assert {"recmesh.rpc", "recmesh.telemetry", "recmesh.api", "recmesh.wire"} <= graph.keys()
    assert _cycles(graph) == []


def test_the_loop_finder_sees_a_loop() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_generated_code_lives_under_recmesh_api() -> None:
    """Every generated module is under recmesh/api/, and nothing else is generated."""
    generated = {
        path.relative_to(REPO_ROOT).parts[:2]
        for path in source_files("recmesh")
        if path.name.endswith(("_pb2.py", "_pb2_grpc.py"))
    }
    assert generated == {("recmesh", "api")}
