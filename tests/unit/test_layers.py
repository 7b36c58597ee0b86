"""The layers point down only, and no module imports itself back through others.

Read from the source's own import statements (every one, also those inside functions and
under `TYPE_CHECKING`), so a failure names the file and line to change.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Each layer and the layers it may import, bottom to top (README, "Layout").
MAY_IMPORT: dict[str, set[str]] = {
    "domain": {"domain"},
    "wire": {"domain", "wire"},
    "infra": {"domain", "wire", "infra"},
    "agents": {"domain", "wire", "infra", "agents"},
    "projections": {"domain", "wire", "infra", "projections"},
    "gateways": {"domain", "wire", "infra", "projections", "gateways"},
    "app": {"domain", "wire", "infra", "agents", "projections", "gateways", "app"},
    # The harness and the benchmarks run the product as a user does; tests may import anything.
    "harness": {"domain", "wire", "infra", "agents", "projections", "gateways", "app", "harness"},
    "bench": {
        "domain",
        "wire",
        "infra",
        "agents",
        "projections",
        "gateways",
        "app",
        "harness",
        "bench",
    },
}
PRODUCT = ("domain", "wire", "infra", "agents", "projections", "gateways", "app")
# What would make the domain depend on I/O (DESIGN.md invariant 6).
NOT_IN_DOMAIN = {
    "faust",
    "mode",
    "aiokafka",
    "slack_sdk",
    "slack_bolt",
    "httpx",
    "aiohttp",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlite3",
    "psycopg",
    "sqlalchemy",
    "smtplib",
    "socket",
    "subprocess",
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    path: Path
    line: int
    target: str  # the imported module, dotted

    def __str__(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in MAY_IMPORT:
        for path in sorted((REPO / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports_of(name: str, path: Path) -> list[Import]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(Import(name, path, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from package import module` imports the module, not just the package.
                submodule = f"{base}.{alias.name}"
                target = submodule if submodule in MODULES else base
                found.append(Import(name, path, node.lineno, target))
    return found


IMPORTS = [i for name, path in MODULES.items() for i in _imports_of(name, path)]


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_every_import_points_down_to_a_layer_below_or_beside_its_own() -> None:
    upward = [
        str(i)
        for i in IMPORTS
        if _layer(i.target) in MAY_IMPORT and _layer(i.target) not in MAY_IMPORT[_layer(i.source)]
    ]
    assert not upward, "imports that point up or sideways:\n" + "\n".join(upward)


def test_nothing_in_the_product_or_the_benchmarks_imports_the_tests() -> None:
    wrong = [str(i) for i in IMPORTS if _layer(i.target) == "tests"]
    assert not wrong, "\n".join(wrong)


def test_the_domain_imports_no_input_or_output() -> None:
    wrong = [
        str(i)
        for i in IMPORTS
        if _layer(i.source) == "domain" and _layer(i.target) in NOT_IN_DOMAIN
    ]
    assert not wrong, "\n".join(wrong)


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for i in IMPORTS:
        if i.target in MODULES and i.target != i.source:
            edges[i.source].add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in sorted(MODULES):
        if name not in index:
            visit(name)
    return groups


def test_no_module_imports_itself_back_through_others() -> None:
    described = []
    for group in _cycles():
        members = set(group)
        lines = [str(i) for i in IMPORTS if i.source in members and i.target in members]
        described.append("cycle:\n  " + "\n  ".join(lines))
    assert not described, "\n".join(described)


@pytest.mark.parametrize("layer", PRODUCT)
def test_each_layer_of_the_product_is_a_package(layer: str) -> None:
    assert (REPO / layer / "__init__.py").is_file()
