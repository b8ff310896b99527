"""The shape of the package, as docs/DESIGN.md draws it: imports point one way, every SQL
statement is in store.py, the stopword lists live in words.py. Reads the source only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rag"

# Lowest first: a module may import only modules before it (DESIGN.md "Modules").
ORDER = [
    "records", "words", "ofsted", "config", "figures", "glossary", "embedding", "reranking",
    "webpage", "cleaning", "pdf", "documents", "loading", "chunking", "store", "query", "scope",
    "retrieval", "judgements", "grounding", "generation", "form", "answering", "indexing",
    "uploads", "access", "provenance", "editing", "display", "conversation", "feedback",
    "metrics", "systems", "evaluation", "report", "cli",
]
SQL = re.compile(r"\b(?:SELECT\s.+\sFROM|INSERT\s+INTO|DELETE\s+FROM|CREATE\s+(?:TABLE|INDEX|"
                 r"VIRTUAL|TRIGGER)|UPDATE\s+\w+\s+SET|PRAGMA)\b", re.I | re.S)


def modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.glob("*.py")
            if p.stem != "__init__"}


def imported(tree: ast.Module) -> set[str]:
    """The package modules a module imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "rag":
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rag."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("rag.")}
    return out


def test_every_module_is_on_the_map() -> None:
    assert sorted(modules()) == sorted(ORDER), "add the module to ORDER and to DESIGN.md"


def test_imports_point_one_way_only() -> None:
    wrong = [f"{name} imports {other}" for name, tree in modules().items()
             for other in imported(tree) if ORDER.index(other) >= ORDER.index(name)]
    assert wrong == []


def test_every_sql_statement_is_in_the_store() -> None:
    sources = {**{f"rag/{k}.py": v for k, v in modules().items() if k != "store"},
               "app.py": ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))}
    found = [f"{path}: {node.value[:60]!r}" for path, tree in sources.items()
             for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and SQL.search(node.value)]
    assert found == []


def test_the_stopword_lists_exist_once() -> None:
    names = [f"{module}: {target.id}" for module, tree in modules().items() if module != "words"
             for node in tree.body if isinstance(node, ast.Assign)
             for target in node.targets if isinstance(target, ast.Name)
             and re.search(r"STOP|SKIP|FUNCTION_WORDS", target.id)]
    assert names == []
