"""The package's structure: the layer contract of pyproject.toml holds (import-linter), no two
modules of jpeg_deep import each other through any chain, and every top-level module or
subpackage is in a layer (a new one cannot slip past the contract)."""
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]


def _contracts():
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_layer_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail("lint-imports is missing: install the dev extra (make test does)")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_import_cycles():
    graph = grimp.build_graph("jpeg_deep")
    modules = sorted(graph.modules)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in modules}
    # Tarjan's strongly connected components: any component of two or more is a cycle
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_every_module_is_in_a_layer():
    layered = set()
    for contract in _contracts()["contracts"]:
        for layer in contract.get("layers", []):
            layered.update(name.strip() for name in layer.replace(":", "|").split("|"))
    top = {f"jpeg_deep.{p.stem if p.suffix == '.py' else p.name}"
           for p in (REPO / "jpeg_deep").iterdir()
           if (p.suffix == ".py" and p.stem != "__init__")
           or (p.is_dir() and (p / "__init__.py").exists())}
    assert top - layered == set(), f"not in any layer of pyproject.toml: {sorted(top - layered)}"
