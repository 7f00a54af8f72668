"""The face0 package's import graph, read from the source (ast): no module imports another that imports
it back (function-level imports included: they only defer a cycle), and only the command line imports the
training loop (face0.train), whose building blocks live in modules of their own."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "face0"
TRAINING_LOOP = "face0.train"
# The only module allowed to import the training loop: the command line's stage table.
COMMAND_LINE = "face0.__main__"


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package is its __init__)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def resolved(name: str, importer: str, modules: dict[str, Path]) -> set[str]:
    """The package's modules that importing `name` from `importer` runs: the module and the packages
    above it that are not already running (those holding `importer`)."""
    found = set()
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        inside = importer == prefix or importer.startswith(prefix + ".")
        if prefix in modules and (end == len(parts) or not inside):
            found.add(prefix)
    return found


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules `module` imports anywhere in its file (module level or in functions)."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # The package imports absolutely; a relative import would escape this reading.
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            base = node.module
            # `from package import submodule` imports the submodule; `from module import name`, the module.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for name in names:
            targets |= resolved(name, module, modules)
    targets.discard(module)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, modules in sorted order)."""
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(module: str) -> list[str] | None:
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target in on_stack:
                return stack[stack.index(target) :] + [target]
            if target not in done and (cycle := visit(target)):
                return cycle
        stack.pop()
        on_stack.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (cycle := visit(module)):
            return cycle
    return None


def test_graph_reads_every_kind_of_import():
    graph = import_graph()
    assert len(graph) > 40 and TRAINING_LOOP in graph and "face0.facemodels" in graph
    assert TRAINING_LOOP in graph[COMMAND_LINE]  # `from face0 import ..., train, ...`
    assert "face0.checkpoints" in graph["face0.sample"]  # a function-level `from face0.checkpoints import`
    assert "face0.facemodels" in graph["face0.train"]  # `from face0.facemodels import DEFAULT_MODEL_DIR`
    # A submodule's import runs its package first, unless the importer is inside that package.
    assert {"face0.facemodels", "face0.facemodels.torch_embedder"} <= graph["face0.identity_loss"]
    assert "face0.facemodels" not in graph["face0.facemodels.torch_embedder"]


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_only_the_command_line_imports_the_training_loop():
    importers = sorted(m for m, targets in import_graph().items() if TRAINING_LOOP in targets)
    assert importers == [COMMAND_LINE], f"{importers} import {TRAINING_LOOP}: import the module that holds it"
