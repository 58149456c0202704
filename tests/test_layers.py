"""The folder tree is the architecture: each layer of ``server/`` imports only the layers
below it (README, "How the code is laid out"). This test reads every module's imports and
fails naming the module and the import that breaks a rule, so a shortcut across layers is
caught in review, not months later when the layers have grown into each other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[1] / "server"

FOUNDATION = {"i18n", "settings", "settings_declared", "clock", "limits", "metrics"}
# put the layers together; may import anything
ENTRY = {"app", "cli", "commands", "httpserver", "logs"}

# layer -> the Kring layers (and foundation modules) it may import, besides itself
MAY_IMPORT: dict[str, set[str]] = {
    "server": set(),  # server/__init__.py: runs before any module of any layer
    "i18n": set(),
    "settings": {"clock", "settings_declared", "limits"},
    "settings_declared": {"clock"},
    "clock": set(),
    "limits": set(),
    "metrics": set(),
    "rules": {"i18n"},
    "formats": {"rules", "i18n"},
    # no i18n: storage words nothing, its callers do
    "storage": {"rules", "settings", "settings_declared", "clock", "metrics"},
    "rooms": {"rules", "storage", *FOUNDATION},
    "conference": {"rules", "formats", "storage", "rooms", *FOUNDATION},
    "views": {"rules", "formats", "storage", "rooms", "conference", *FOUNDATION},
}

# third-party packages that belong to one place only
ONLY_IN = {
    "sqlalchemy": {"storage"},
    "alembic": {"storage"},
    "starlette": {"views", *ENTRY},
    "prometheus_client": {"metrics"},
}


def layer_of(module: str) -> str:
    """``server.rules.plan`` -> ``rules``; ``server.app`` -> ``app``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SERVER.rglob("*.py")):
        relative = path.relative_to(SERVER.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """Every module name ``module`` imports (``from server import x`` counts as
    ``server.x``), with its line number."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "server":
                for alias in node.names:
                    yield node.lineno, f"server.{alias.name}"
            else:
                yield node.lineno, base


def broken_rules(root: Path = SERVER) -> list[str]:
    problems = []
    for module, path in modules():
        layer = layer_of(module) or module  # the package itself: "server"
        for line, name in imports(module, path):
            where = f"{path.relative_to(root.parent)}:{line} imports {name}"
            top = name.split(".")[0]
            if top in ONLY_IN and layer not in ONLY_IN[top]:
                problems.append(f"{where}: only {sorted(ONLY_IN[top])} may import {top}")
            if top != "server" or layer in ENTRY:
                continue
            target = layer_of(name)
            if target == layer:
                continue
            if target in ENTRY:
                problems.append(f"{where}: nothing imports the entry points")
            elif layer not in MAY_IMPORT:
                problems.append(f"{where}: {layer} is not a declared layer (add it to the map)")
            elif target not in MAY_IMPORT[layer]:
                problems.append(f"{where}: {layer} may import only {sorted(MAY_IMPORT[layer])}")
    return problems


def test_every_module_sits_in_a_declared_layer() -> None:
    declared = set(MAY_IMPORT) | ENTRY
    loose = [m for m, _ in modules() if layer_of(m) and layer_of(m) not in declared]
    assert loose == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    assert broken_rules() == []


@pytest.mark.parametrize(
    ("layer", "line", "expected"),
    [
        ("rules", "from server.storage.models import Conference", "rules may import only"),
        ("formats", "from server.conference import flow", "formats may import only"),
        ("conference", "from starlette.requests import Request", "may import starlette"),
        ("rooms", "from server.views import common", "rooms may import only"),
        ("views", "import sqlalchemy", "may import sqlalchemy"),
        ("storage", "from server import app", "nothing imports the entry points"),
    ],
)
def test_a_forbidden_import_is_reported(
    layer: str, line: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check itself can fail: one forbidden line in an otherwise empty layer is named."""
    server = tmp_path / "server"
    (server / layer).mkdir(parents=True)
    (server / layer / "shortcut.py").write_text(f"{line}\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["SERVER"]), "SERVER", server)
    problems = broken_rules(server)
    assert len(problems) == 1 and expected in problems[0]
    assert problems[0].startswith(f"server/{layer}/shortcut.py:1 imports ")


def test_the_package_itself_imports_no_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``server/__init__.py`` runs first whatever is imported, so a layer it imported would
    be imported by every other layer too."""
    server = tmp_path / "server"
    server.mkdir()
    (server / "__init__.py").write_text("from server.views import common\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["SERVER"]), "SERVER", server)
    problems = broken_rules(server)
    assert len(problems) == 1 and "server may import only []" in problems[0]
    assert problems[0].startswith("server/__init__.py:1 imports server.views:")
