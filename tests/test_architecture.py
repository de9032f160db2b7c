"""The layout's rules, checked on the source (docs/architecture.md):

- no import cycles between the app's modules (module-level imports: an import
  inside a function runs when it is called, after every module is loaded);
- the Huey tasks import no service at module level (each imports its own in
  its body), so the services may import the tasks they enqueue;
- only `lifecycle/status.py` changes `Generation.status`;
- only the ledger (`billing/ledger.py`, and its private PostgreSQL statements
  in `billing/ledger_pg.py`) makes credit entries;
- the GPU worker imports no Django.
"""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "generations"


def modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(APP.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def module_level_imports(path: Path) -> set[str]:
    """Modules of the app that `path` imports when it is loaded."""
    targets = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:  # `from pkg import module` imports the module
                sub = f"{node.module}.{alias.name}"
                targets.add(sub if sub in MODULES else node.module)
    return {t for t in targets if t in MODULES}


def graph() -> dict[str, set[str]]:
    return {name: module_level_imports(path) - {name} for name, path in MODULES.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_app_has_no_import_cycles():
    assert cycles(graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_tasks_import_no_service_at_module_level():
    assert module_level_imports(MODULES["generations.tasks"]) == set()


def calls(path: Path):
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]


def writes_status(call: ast.Call) -> bool:
    """`.update(status=...)`, `.create(status=...)`, `save(update_fields=[..."status"...])`."""
    name = getattr(call.func, "attr", getattr(call.func, "id", ""))
    if name in ("update", "create", "bulk_update", "update_or_create"):
        return any(k.arg == "status" for k in call.keywords)
    if name == "save":
        return any(k.arg == "update_fields" and "status" in named(k.value) for k in call.keywords)
    return False


def named(node: ast.AST) -> set[str]:
    """The string constants in an expression (a list of field names)."""
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)}


def test_only_the_lifecycle_status_module_writes_a_generations_status():
    writers = {name for name, path in MODULES.items() if any(map(writes_status, calls(path)))}
    assert writers == {"generations.lifecycle.status"}


def makes_credit_entries(call: ast.Call) -> bool:
    """`CreditEntry(...)` or `CreditEntry.objects.create(...)` and its kin."""
    text = ast.unparse(call.func)
    return text == "CreditEntry" or text in {
        f"CreditEntry.objects.{m}" for m in ("create", "bulk_create", "get_or_create", "update_or_create")
    }


def test_only_the_ledger_makes_credit_entries():
    makers = {name for name, path in MODULES.items() if any(map(makes_credit_entries, calls(path)))}
    assert makers == {"generations.billing.ledger", "generations.billing.ledger_pg"}


def test_the_gpu_worker_imports_no_django():
    for name, path in MODULES.items():
        if name.startswith("generations.inference"):
            imported = {
                n.module or "" for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)
            } | {
                a.name
                for n in ast.walk(ast.parse(path.read_text()))
                if isinstance(n, ast.Import)
                for a in n.names
            }
            assert not any(m.startswith(("django", "generations.models")) for m in imported), name
