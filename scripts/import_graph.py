"""Read the import graph of voxloop/ and voxloop_nlp/ and print what is wrong with its shape.

    .venv/bin/python scripts/import_graph.py            # summary and every finding
    .venv/bin/python scripts/import_graph.py --top 15   # more of the largest modules
    .venv/bin/python scripts/import_graph.py --list     # only the unexplained in-function imports, path:line

It parses the files with `ast` and executes none of them, so it runs without Django settings or a
database. The layer order is read from docs/architecture/layers.md (the ```layers block), so the doc,
this command and voxloop/core/tests/test_architecture.py (which imports this file) can never disagree.

Reported:
- upward imports: a module of one layer importing a module of a higher layer, with file:line;
- import circles between apps: every elementary cycle in the app-to-app graph;
- imports made inside function bodies: count, and per 1,000 lines;
- those of them that give no reason (`unexplained_in_function_imports`, listed by `--list`);
- the largest modules by line count.

Tests (`tests/` folders, `conftest.py`) are left out of every figure: a test may compose several apps.
Migrations are counted like any other code.

An import inside a function is *explained* (the project's rule: imports at the top of the file unless a
comment says why) when one of these holds:
1. a `#` comment is on one of the import statement's own lines;
2. the line directly above the statement is a comment-only line below the function's `def` line (no blank
   line between; a comment of several lines ends on that line);
3. the statement belongs to a run of import statements of one function with nothing but blank lines
   between them (isort's groups), whose first statement is explained by 1 or 2: one comment covers the run;
4. it is in the `ready` method of a class deriving from `AppConfig`, and that body has a comment-only line
   below the `def` line and above its first import: one comment covers all of `ready`'s registration imports.
A comment above the `def` line, on a `try:` line above the import, or separated from it by a blank line or
another statement does not count. Everything else is *unexplained*: move it to the top of the file, or say
why it cannot be there.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import re
import sys
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("voxloop", "voxloop_nlp")
LAYERS_DOC = ROOT / "docs" / "architecture" / "layers.md"
# The project package's own modules (settings, urls, celery, cli, asgi, wsgi) wire every app together;
# they sit above all layers and are the one place allowed to import anything.
PROJECT = "voxloop"


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module (or module.name), dotted
    path: str  # file, relative to the repository root
    line: int
    in_function: bool
    explained: bool = True  # for an in-function import: a reason comment goes with it (module docstring)


@dataclass(frozen=True)
class Upward:
    source_app: str
    target_app: str
    path: str
    line: int
    target: str

    def key(self) -> tuple[str, str, str]:
        """What the allow-list in the architecture test names: file and the two apps (lines move)."""
        return (self.path, self.source_app, self.target_app)


@dataclass
class Report:
    imports: list[Import]
    lines: dict[str, int]  # module path -> line count
    layers: list[list[str]]
    upward: list[Upward] = field(default_factory=list)
    graph: dict[str, set[str]] = field(default_factory=dict)
    circles: list[tuple[str, ...]] = field(default_factory=list)  # every elementary cycle between apps
    peer_circles: list[tuple[str, ...]] = field(default_factory=list)  # those within one layer

    @property
    def mutual(self) -> list[tuple[str, str]]:
        """Pairs of apps that import each other directly: the shortest circles, and the ones to read first."""
        return sorted((a, b) for a, bs in self.graph.items() for b in bs if a < b and a in self.graph.get(b, ()))

    @property
    def in_function(self) -> list[Import]:
        """One entry per import statement made inside a function (`from x import a, b` counts once)."""
        seen: dict[tuple[str, int], Import] = {}
        for imp in self.imports:
            if imp.in_function:
                seen.setdefault((imp.path, imp.line), imp)
        return list(seen.values())

    @property
    def unexplained(self) -> list[Import]:
        """The in-function import statements with no reason comment (rules in the module docstring)."""
        return [imp for imp in self.in_function if not imp.explained]

    @property
    def total_lines(self) -> int:
        return sum(self.lines.values())


def read_layers(doc: Path = LAYERS_DOC) -> list[list[str]]:
    """The ```layers block of the doc: one layer per line, bottom first, apps separated by commas."""
    text = doc.read_text(encoding="utf-8")
    match = re.search(r"```layers\n(.*?)```", text, re.DOTALL)
    if not match:
        raise SystemExit(f"{doc}: no ```layers block found")
    layers = []
    for raw in match.group(1).splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            layers.append([name.strip() for name in line.split(",") if name.strip()])
    return layers


def is_test(path: Path) -> bool:
    return "tests" in path.parts or path.name == "conftest.py"


def source_files(root: Path = ROOT) -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if not is_test(path.relative_to(root)):
                yield path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    # A package's own __init__ is level 1 from itself; a plain module's level 1 is its package.
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join(base + ([node.module] if node.module else []))


def comment_lines(text: str) -> tuple[set[int], set[int]]:
    """The lines that hold a `#` comment, and those of them that hold nothing else."""
    anywhere: set[int] = set()
    alone: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            anywhere.add(tok.start[0])
            if not tok.line[: tok.start[1]].strip():
                alone.add(tok.start[0])
    return anywhere, alone


def _is_app_config(node: ast.AST) -> bool:
    return isinstance(node, ast.ClassDef) and any(
        (isinstance(b, ast.Name) and b.id == "AppConfig") or (isinstance(b, ast.Attribute) and b.attr == "AppConfig")
        for b in node.bases
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, path: str, is_package: bool, text: str = "") -> None:
        self.module, self.path, self.is_package = module, path, is_package
        self.comments, self.comment_only = comment_lines(text)
        self.blank = {i for i, line in enumerate(text.splitlines(), start=1) if not line.strip()}
        self.scopes: list[ast.AST] = []  # enclosing classes and functions, innermost last
        # Per function: the last line of each import statement seen in it (to find runs of imports) and
        # whether its `ready` comment covers every import (rule 4).
        self.import_ends: dict[int, dict[int, ast.stmt]] = defaultdict(dict)
        self.ready_covered: dict[int, bool] = {}
        self.found: list[Import] = []

    @property
    def depth(self) -> int:
        return sum(1 for s in self.scopes if not isinstance(s, ast.ClassDef))

    def _scope(self, node: ast.AST) -> None:
        self.scopes.append(node)
        self.generic_visit(node)
        self.scopes.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scope  # noqa: N815 - ast visitor names

    def _function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        for scope in reversed(self.scopes):
            if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
                return scope
            if not isinstance(scope, ast.Lambda):
                return None
        return None

    def _explained(self, node: ast.Import | ast.ImportFrom) -> bool:
        func = self._function()
        if func is None:
            return True
        end = node.end_lineno or node.lineno
        ends = self.import_ends[id(func)]
        ends[end] = node
        ready = self.ready_covered.get(id(func))
        if ready is None:
            # Rule 4 is decided at the function's first import: a comment line between `def` and it.
            parent = self.scopes[-2] if len(self.scopes) > 1 and self.scopes[-1] is func else None
            ready = (
                func.name == "ready"
                and parent is not None
                and _is_app_config(parent)
                and any(func.lineno < line < node.lineno for line in self.comment_only)
            )
            self.ready_covered[id(func)] = ready
        if ready:
            return True
        first = node  # rules 1 to 3: walk up the run of imports (blank lines between them) to its first statement
        while True:
            above = first.lineno - 1
            while above in self.blank:
                above -= 1
            if above not in ends:
                break
            first = ends[above]
        for stmt in (node, first):
            if any(line in self.comments for line in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)):
                return True
        above = first.lineno - 1
        return above > func.lineno and above in self.comment_only

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802 - ast visitor name
        explained = self._explained(node)
        for alias in node.names:
            self._add(alias.name, node.lineno, explained)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802 - ast visitor name
        base = _resolve(node, self.module, self.is_package)
        explained = self._explained(node)
        for alias in node.names:
            # `from voxloop.cases import services` imports a module; keep the deepest dotted name we can.
            self._add(f"{base}.{alias.name}" if alias.name != "*" else base, node.lineno, explained)

    def _add(self, target: str, line: int, explained: bool) -> None:
        self.found.append(Import(self.module, target, self.path, line, self.depth > 0, explained))


def collect(root: Path = ROOT) -> tuple[list[Import], dict[str, int]]:
    imports: list[Import] = []
    lines: dict[str, int] = {}
    for path in source_files(root):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        lines[rel] = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        collector = _Collector(module_name(path, root), rel, path.name == "__init__.py", text)
        collector.visit(ast.parse(text, filename=rel))
        imports.extend(collector.found)
    return imports, lines


def app_of(module: str, apps: Iterable[str]) -> str | None:
    """The longest listed app that `module` belongs to; PROJECT for the project package's own modules."""
    best = None
    for app in apps:
        if (module == app or module.startswith(app + ".")) and (best is None or len(app) > len(best)):
            best = app
    if best is None and (module == PROJECT or module.startswith(PROJECT + ".")):
        return PROJECT
    return best


def elementary_cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Every simple cycle, each once, starting at its smallest node (the graph has a few dozen nodes)."""
    cycles: list[tuple[str, ...]] = []
    nodes = sorted(graph)
    for start in nodes:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    cycles.append(tuple(path))
                elif nxt > start and nxt not in path:
                    stack.append((nxt, path + [nxt]))
    return sorted(cycles, key=lambda c: (len(c), c))


def analyse(root: Path = ROOT, layers: list[list[str]] | None = None) -> Report:
    layers = layers if layers is not None else read_layers(root / "docs" / "architecture" / "layers.md")
    rank = {app: i for i, layer in enumerate(layers) for app in layer}
    imports, lines = collect(root)
    report = Report(imports, lines, layers)
    graph: dict[str, set[str]] = defaultdict(set)
    # One finding per import statement and target app: `from x.models import A, B` is one upward import.
    upward: dict[tuple[str, int, str], Upward] = {}
    unknown: set[str] = set()
    for imp in imports:
        src, dst = app_of(imp.source, rank), app_of(imp.target, rank)
        if src is None or dst is None or src == dst:
            continue
        if src == PROJECT:
            continue  # settings/urls/celery/cli wire everything together by design
        if dst == PROJECT:
            unknown.add(imp.target)
            continue
        graph[src].add(dst)
        if rank[dst] > rank[src]:
            upward.setdefault((imp.path, imp.line, dst), Upward(src, dst, imp.path, imp.line, imp.target))
    for module in {i.source for i in imports}:
        if app_of(module, rank) is None:
            unknown.add(module)
    if unknown:
        names = sorted(m for m in unknown if not m.startswith(PROJECT + ".settings"))
        if names:
            raise SystemExit(f"modules in no layer of {LAYERS_DOC.name}: {', '.join(names[:10])}")
    report.upward = list(upward.values())
    report.graph = {app: set(targets) for app, targets in graph.items()}
    report.circles = elementary_cycles(graph)
    # Circles that need no upward import: peers of one layer importing each other round. Every other
    # circle contains an upward import and goes away with it, so these two lists together cover them all.
    same_layer = {a: {b for b in bs if rank[b] == rank[a]} for a, bs in graph.items()}
    report.peer_circles = elementary_cycles(same_layer)
    return report


def print_report(report: Report, top: int, all_circles: bool = False, out=sys.stdout) -> None:
    total = report.total_lines
    infn = report.in_function
    print(
        f"RESULT upward_imports={len(report.upward)} app_circles={len(report.circles)} "
        f"mutual_app_pairs={len(report.mutual)} peer_circles={len(report.peer_circles)} "
        f"in_function_imports={len(infn)} per_1000_lines={1000 * len(infn) / max(total, 1):.1f} "
        f"unexplained_in_function_imports={len(report.unexplained)} lines={total} modules={len(report.lines)}",
        file=out,
    )
    print("\nlayers (bottom first):", file=out)
    for i, layer in enumerate(report.layers):
        print(f"  {i:2d}  {', '.join(layer)}", file=out)
    print(f"\nupward imports ({len(report.upward)}):", file=out)
    for up in sorted(report.upward, key=lambda u: (u.path, u.line)):
        print(f"  {up.path}:{up.line}  {up.source_app} -> {up.target_app}  ({up.target})", file=out)
    print(f"\nimport circles between apps: {len(report.circles)} elementary cycles", file=out)
    print(f"  apps importing each other directly ({len(report.mutual)}):", file=out)
    for a, b in report.mutual:
        print(f"    {a} <-> {b}", file=out)
    print(f"  circles within one layer, needing no upward import ({len(report.peer_circles)}):", file=out)
    for cycle in report.peer_circles:
        print("    " + " -> ".join(cycle + (cycle[0],)), file=out)
    if all_circles:
        for cycle in report.circles:
            print("    " + " -> ".join(cycle + (cycle[0],)), file=out)
    per_file: dict[str, int] = defaultdict(int)
    for imp in infn:
        per_file[imp.path] += 1
    print(f"\nimports inside function bodies ({len(infn)}), by file:", file=out)
    for path, count in sorted(per_file.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {count:4d}  {path}", file=out)
    print(f"\nof them with no reason comment ({len(report.unexplained)}; rules: --help):", file=out)
    print_unexplained(report, out, indent="  ")
    print(f"\nlargest modules (top {top}):", file=out)
    for path, count in sorted(report.lines.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        print(f"  {count:5d}  {path}", file=out)


def print_unexplained(report: Report, out=sys.stdout, indent: str = "") -> None:
    """One line per unexplained in-function import: path:line, then what it imports."""
    targets: dict[tuple[str, int], list[str]] = defaultdict(list)
    for imp in report.imports:
        if imp.in_function and not imp.explained:
            targets[(imp.path, imp.line)].append(imp.target)
    for (path, line), names in sorted(targets.items()):
        print(f"{indent}{path}:{line}  {', '.join(names)}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[-1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--top", type=int, default=10, help="how many of the largest modules to list")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--all-circles", action="store_true", help="list every elementary cycle between apps")
    parser.add_argument(
        "--list", action="store_true", help="print only the in-function imports with no reason comment, as path:line"
    )
    args = parser.parse_args(argv)
    try:
        report = analyse(args.root.resolve())
        if args.list:
            print_unexplained(report)
        else:
            print_report(report, args.top, args.all_circles)
    except BrokenPipeError:
        # Piped into `head`: the reader has what it wanted. Point stdout at /dev/null so the interpreter's
        # final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
