"""The package's folders are layers: a module imports only from its own layer or those below.

Every import counts, a function's lazy ``import`` included. PIPELINE.md's two scripts in
``generate/`` are entry points of the command line, so they sit in its layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.fixtures.paths import REPO

LAYERS = ("core", "storage", "generate", "dataset", "publishing", "jobs", "cli")
"""Bottom to top, as the layout section of CONTRIBUTING.md lists them."""

ENTRY_POINTS = {"generate/sample_all_envs.py": "cli", "generate/convert_to_training_data.py": "cli"}


def module_name(path: Path) -> str:
    """``atari_interleaved.x.y`` of a source file (``generate/`` installs as ``.generate``)."""
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[0] == "generate":
        parts = ("atari_interleaved", *parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer of ``atari_interleaved.<layer>...``; None for the package facade."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """The ``atari_interleaved`` modules (or packages) that ``source`` imports."""
    found = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return {name for name in found if name.split(".")[0] == "atari_interleaved"}


def upward_imports(path: Path) -> list[str]:
    """``importer -> imported`` for each import of ``path`` that points to a higher layer."""
    relative = path.relative_to(REPO).as_posix()
    module = module_name(path)
    own = ENTRY_POINTS.get(relative) or layer_of(module)
    if own is None:  # the package's __init__: the facade over every layer
        return []
    problems = []
    for imported in imported_modules(path.read_text(), module, path.name == "__init__.py"):
        target = layer_of(imported)
        if target is not None and LAYERS.index(target) > LAYERS.index(own):
            problems.append(f"{relative} ({own}) imports {imported} ({target})")
    return sorted(problems)


def source_files() -> list[Path]:
    return sorted([*REPO.glob("atari_interleaved/**/*.py"), *REPO.glob("generate/*.py")])


def test_every_module_is_in_a_layer():
    outside = [
        p.relative_to(REPO).as_posix()
        for p in source_files()
        if p.parent.name == "atari_interleaved" and p.name != "__init__.py"
    ]
    assert outside == []
    folders = {
        p.name for p in (REPO / "atari_interleaved").iterdir() if (p / "__init__.py").is_file()
    }
    assert folders == set(LAYERS) - {"generate"}


def test_imports_point_only_down():
    problems = [problem for path in source_files() for problem in upward_imports(path)]
    assert problems == []


@pytest.mark.parametrize(
    ("where", "line", "points_up"),
    [
        ("atari_interleaved/core/x.py", "from atari_interleaved.storage import lock", True),
        ("atari_interleaved/dataset/x.py", "from atari_interleaved.publishing.card import y", True),
        ("generate/x.py", "import atari_interleaved.dataset.reader", True),
        ("generate/x.py", "def f():\n    from atari_interleaved.cli import app", True),
        ("atari_interleaved/publishing/x.py", "from ..jobs import build", True),
        ("atari_interleaved/publishing/x.py", "from ..dataset import reader", False),
        ("generate/x.py", "from atari_interleaved.storage.lock import output_lock", False),
        ("atari_interleaved/cli/x.py", "from atari_interleaved.core import errors", False),
        ("generate/sample_all_envs.py", "from atari_interleaved.cli.app import main", False),
    ],
)
def test_the_check_sees_an_upward_import(tmp_path, monkeypatch, where, line, points_up):
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(line + "\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["REPO"]), "REPO", tmp_path)
    assert bool(upward_imports(path)) is points_up


def test_contributing_lists_the_layers_in_order():
    contributing = (REPO / "CONTRIBUTING.md").read_text()
    section = contributing[contributing.index("## Project layout") :]
    folders = [
        line.split("|")[2].strip().strip("`").split("`")[0]
        for line in section.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip()[:2].rstrip(".").isdigit()
    ]
    listed = [folder.rstrip("/").split("/")[-1] for folder in folders]
    assert listed == list(LAYERS)
