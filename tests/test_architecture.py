"""No import cycles among the installed packages' modules (docs/architecture.md).

Imports are read with ``ast`` (nothing is imported), both module-level and inside
functions: a lazy import is still a dependency, and a lazy cycle is still a cycle.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("verified_pgd", "symbolic", "proofs_check")
# No exemptions: issue 12's solver package removed the solvers/fastpath/reduced cycle that
# was pending here (those modules are now re-exporting shims over verified_pgd.solver).
PENDING = set()


def _name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root=ROOT, packages=PACKAGES):
    return {_name(p, root): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}


def import_graph(mods):
    """module -> the set of package modules it imports (a submodule's import of its own
    parent package is not an edge: the parent is always loaded first)."""
    graph = {}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        out = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[:len(base) - node.level + 1]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod and not mod.startswith(t + "."):
                    out.add(t)
        graph[mod] = out
    return graph


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    mods = modules()
    assert len(mods) > 50 and "verified_pgd.claims.verdicts" in mods
    bad = [sorted(c) for c in cycles(import_graph(mods)) if c not in PENDING]
    assert not bad, f"import cycles: {bad}"


def test_a_synthetic_cycle_is_detected(tmp_path):
    """Negative control: a.x imports a.y at module level, a.y imports a.x in a function."""
    pkg = tmp_path / "a"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "x.py").write_text("from . import y\n")
    (pkg / "y.py").write_text("def f():\n    from .x import thing\n")
    (pkg / "z.py").write_text("import a.x\n")
    found = cycles(import_graph(modules(tmp_path, ("a",))))
    assert found == [frozenset({"a.x", "a.y"})]


def test_the_former_problem_theory_cycle_would_be_detected(tmp_path):
    """Negative control on the real shape: Problem calling theory lazily while theory
    imports Problem is reported."""
    pkg = tmp_path / "v"
    (pkg / "theory").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "problem.py").write_text("class P:\n    def b(self):\n        from . import theory\n")
    (pkg / "theory" / "__init__.py").write_text("from ..problem import P\n")
    assert cycles(import_graph(modules(tmp_path, ("v",)))) == [frozenset({"v.problem", "v.theory"})]
