"""README.md, CONTRIBUTING.md and docs/ stay true: their code runs, their commands parse, their
flag tables are the parser's, and the CPU build of torch they give is the one CI installs."""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

import atari_interleaved
from atari_interleaved.cli import flag_tables
from atari_interleaved.cli.app import build_parser
from atari_interleaved.publishing.export import export
from tests.fixtures.docs import PAGES, Block, block, blocks, docs_text
from tests.fixtures.frame_trees import give_returns
from tests.fixtures.paths import REPO
from tests.fixtures.prerequisites import required_module

TORCH_CPU = "pip install torch --index-url https://download.pytorch.org/whl/cpu"

#: The python blocks a test of their own runs, with what it checks; every other block runs in
#: ``test_a_python_block_runs_as_written``.
DEDICATED = {
    "README.md#World-model data in ten lines": "test_the_recipe_keeps_the_better_half",
    "docs/training.md#The training loop": "test_the_training_loop_runs",
    "docs/training.md#Choosing episodes": "test_the_episode_choice_keeps_the_best_tenth",
    "docs/sampling.md#Writing a policy": "tests/generate/test_policy.py",
    "docs/export.md#Minari": "tests/publishing/test_minari_export.py",
    "docs/export.md#LeRobot": "tests/publishing/test_lerobot_export.py",
    "docs/training.md#Window options": "tests/dataset/test_window_options.py",
    "docs/training.md#Counterfactual branches": "tests/generate/test_branch_runs.py",
    "docs/scale.md#The cloud case: a Ray cluster writing to an object store": (
        "tests/generate/test_object_store.py"
    ),
}


def run_block(found: Block, names: dict[str, object] | None = None) -> dict[str, object]:
    names = {} if names is None else names
    exec(compile(found.code, str(REPO / found.page), "exec"), names)
    return names


@pytest.fixture
def data_here(frame_tree, exported_folder, tmp_path, monkeypatch):
    """A current folder holding the data the docs' names refer to."""
    (tmp_path / "sampled_frames_organized").symlink_to(frame_tree)
    (tmp_path / "atari_interleaved_hub").symlink_to(exported_folder)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_dedicated_block_exists():
    keys = [found.key for found in blocks("python")]
    assert len(keys) == len(set(keys)) and set(DEDICATED) <= set(keys)


@pytest.mark.parametrize(
    "key", [found.key for found in blocks("python") if found.key not in DEDICATED]
)
def test_a_python_block_runs_as_written(key, data_here):
    run_block(block(key))


def export_with_returns(tree, folder):
    """Export ``tree`` with returns 0 and 10 (Alien), -1 and 1 (Pong): one better episode each."""
    scores = {"alien": [0.0, 10.0], "pong": [-1.0, 1.0]}
    returns = {
        f"atari_{game}/episode_{index:03d}_rand0.2": value
        for game, values in scores.items()
        for index, value in enumerate(values)
    }
    export(give_returns(tree, returns), folder)


def test_the_recipe_keeps_the_better_half(tree_copy, tmp_path, monkeypatch):
    required_module("torch", TORCH_CPU)
    export_with_returns(tree_copy, tmp_path / "atari_hub")
    monkeypatch.chdir(tmp_path)
    names = run_block(block("README.md#World-model data in ten lines"))
    kept = {(meta["environment"], meta["return"]) for meta in names["windows"].episodes}
    assert kept == {("atari_alien", 10.0), ("atari_pong", 1.0)}
    assert tuple(names["batch"]["frames"].shape[1:]) == (16, 64, 64, 3)  # DIAMOND's, as it says
    assert len(names["episodes"]) == 4


def test_the_training_loop_runs(data_here):
    required_module("torch", TORCH_CPU)
    names = run_block(block("docs/training.md#The training loop"))
    assert names["batch"]["frames"].shape[1:] == (16, 210, 160, 3)
    assert names["loss"].item() > 0


def test_the_training_loop_reads_windows_without_torch(data_here):
    """The same windows, iterated in plain Python (what runs where torch is not installed)."""
    code = block("docs/training.md#The training loop").code
    line = next(line for line in code.splitlines() if "FrameWindows(" in line)
    names: dict[str, object] = {"atari_interleaved": atari_interleaved}
    exec(line, names)
    windows = names["windows"]
    assert len(windows) == 4 * 12  # 4 episodes of 12 frames: one window ending at each frame
    assert all(item["mask"].sum() == 16 + min(0, item["start_frame"]) for item in windows)


def test_the_episode_choice_keeps_the_best_tenth(tree_copy, tmp_path, monkeypatch):
    export_with_returns(tree_copy, tmp_path / "atari_interleaved_hub")
    monkeypatch.chdir(tmp_path)
    names = run_block(block("docs/training.md#Choosing episodes"))
    windows = names["windows"]
    kept = {(meta["environment"], meta["episode"]): meta["return"] for meta in windows.episodes}
    assert kept == {
        ("atari_alien", "episode_001_rand0.2"): 10.0,
        ("atari_pong", "episode_001_rand0.2"): 1.0,
    }
    assert windows[0]["frames"].shape == (16, 64, 64, 3)  # DIAMOND's frames, as it says


# --- commands ---------------------------------------------------------------------------


def commands() -> list[tuple[str, list[str]]]:
    """Every command of every bash block: ``(page, words)``, continuations joined."""
    found = []
    for code_block in blocks("bash"):
        text = code_block.code.replace("\\\n", " ")
        for line in text.splitlines():
            for command in line.split("&&"):
                words = shlex.split(command, comments=True)
                if words:
                    found.append((code_block.page, words))
    return found


def _pyproject_extras() -> set[str]:
    text = (REPO / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+) = \[", section, flags=re.M))


def check_command(words: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail unless the command is one this project runs, with arguments its parser accepts."""
    while re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # PYTHONPATH=. atari-interleaved ...
        words = words[1:]
    program, args = words[0], words[1:]
    if "/bin/" in program:  # a program of a virtual environment: ~/lerobot-env/bin/pip
        program = program.rsplit("/", 1)[1]
    if program == "atari-interleaved":
        build_parser().parse_args(args)
    elif program == "python3" and args[0] in (
        "generate/sample_all_envs.py",
        "generate/convert_to_training_data.py",
    ):
        module = re.search(r'script_main\("([\w.]+)"', (REPO / args[0]).read_text())[1]
        parser = argparse.ArgumentParser()
        importlib.import_module(module).add_arguments(parser)
        parser.parse_args(args[1:])
    elif program == "python3" and args[:2] == ["-m", "venv"]:
        assert len(args) == 3, "python3 -m venv DIR"
    elif program == "python3" and args[:2] == ["-m", "atari_interleaved.cli.flag_tables"]:
        monkeypatch.chdir(REPO)
        assert flag_tables.main([*args[2:], "--check"]) == 0
    elif program == "python3" and args[:2] == ["-m", "pytest"]:
        markers = (REPO / "pyproject.toml").read_text()
        for marker in re.findall(r"-m\s+['\"]?(?:not\s+)?(\w+)", " ".join(args[2:])):
            assert f'"{marker}:' in markers
    elif program == "python3" and args[0].startswith("bench/"):
        script = (REPO / args[0]).read_text()
        for flag in (word for word in args[1:] if word.startswith("--")):
            assert f'"{flag}"' in script, f"{args[0]} has no flag {flag}"
    elif program == "pip" and args[0] == "install":
        if "--index-url" in args:
            assert " ".join(words) in (REPO / ".ci" / "run").read_text()
        for extras in re.findall(r"\.\[([\w,-]+)\]", " ".join(args)):
            assert set(extras.split(",")) <= _pyproject_extras()
    elif program == "bash":
        assert (REPO / args[0]).is_file()
    else:
        raise AssertionError(f"no check for {program!r}: add one to check_command")


@pytest.mark.parametrize(
    ("page", "words"), commands(), ids=[" ".join(w)[:60] for _, w in commands()]
)
def test_a_shell_command_is_real(page, words, monkeypatch):
    try:
        check_command(words, monkeypatch)
    except SystemExit as exited:  # argparse refused it, having printed why
        pytest.fail(f"{page}: {' '.join(words)!r} exits with {exited.code}")


def test_the_docs_name_no_flag_the_parsers_lack():
    """Every ``--flag`` the prose names is one of a command, a benchmark, the flag tables',
    pip's or pytest's."""
    known = {"--help", "--version", "--index-url", "--dry-run", "--report", "--quick"}
    for parser in flag_tables.command_parsers().values():
        for action in parser._actions:
            known.update(action.option_strings)
    for script in [*(REPO / "bench").glob("*.py"), REPO / "atari_interleaved/cli/flag_tables.py"]:
        known.update(re.findall(r'"(--[a-z][a-z0-9-]*)"', script.read_text()))
    for page in PAGES:
        named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", docs_text(page)))
        assert named <= known, f"{page} names {sorted(named - known)}"


def test_the_flag_tables_are_the_parsers():
    for page in (REPO / "docs").glob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert flag_tables.render_page(text, str(page)) == text, (
            f"{page.name} is out of date: run python3 -m atari_interleaved.cli.flag_tables"
        )
    tabled = set()
    for page in (REPO / "docs").glob("*.md"):
        tabled.update(re.findall(r"<!-- flag-table: ([\w-]+) -->", page.read_text()))
    assert tabled == set(flag_tables.command_parsers())  # every command has its table


def test_a_flag_table_gives_the_parsers_defaults():
    table = flag_tables.flag_table(flag_tables.command_parsers()["sample"])
    rows = {row.split(" | ")[0]: row for row in table.splitlines()}
    assert rows["| `--search-budget F`"].endswith("| `400.0` |")
    assert rows["| `--parallel P`"].endswith("| the number of CPUs |")  # not this machine's
    assert rows["| `--overwrite`"].endswith("| off |")
    assert "&lt;Game>-v5" in rows["| `--envs GAMES`"]


def test_the_torch_cpu_command_is_the_one_ci_runs_outside_the_repository():
    training = docs_text("docs/training.md")
    assert f"```bash\n{TORCH_CPU}\n```" in training
    ci = (REPO / ".ci" / "run").read_text()
    assert 'outside="$(mktemp -d)"' in ci  # a new folder, outside the repository
    assert f'(cd "$outside" && {TORCH_CPU})' in ci  # installed there, as a user would
    assert "--dry-run --ignore-installed" in ci and '"+cpu" not in' in ci  # after checking it
    assert TORCH_CPU in docs_text("README.md")


def test_the_package_names_the_docs_use_resolve_in_a_fresh_process():
    """``import atari_interleaved`` then each dotted name the docs write, as a user would."""
    text = "".join(docs_text(page) for page in PAGES)
    names = sorted(set(re.findall(r"\batari_interleaved(?:\.[A-Za-z_]\w*)+", text)))
    names = [name for name in names if not name.endswith((".py", ".md"))]
    assert "atari_interleaved.core.features.features" in names
    code = "import atari_interleaved, importlib\n" + "".join(
        f"obj = atari_interleaved\nfor part in {name.split('.')[1:]!r}:\n"
        "    obj = (getattr(obj, part) if hasattr(obj, part)\n"
        "           else importlib.import_module(obj.__name__ + '.' + part))\n"
        for name in names
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(names) >= 3


def test_the_preview_picture_is_a_contact_sheet_of_the_build_games():
    from PIL import Image

    assert "](docs/preview.png)" in docs_text("README.md")
    picture = Image.open(REPO / "docs" / "preview.png")
    assert picture.format == "PNG" and picture.mode == "RGB"
    assert picture.width > 5 * 160 and picture.height > 210  # five frames side by side
    assert (REPO / "docs" / "preview.png").stat().st_size < 50_000
    assert np.asarray(picture).std() > 10  # frames, not an empty sheet


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_links_between_pages_reach_a_page_and_heading():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", docs_text(page)):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (REPO / page).parent / path if path else REPO / page
            assert linked.exists(), f"{page} links to {target}, which does not exist"
            if anchor:
                prose = re.sub(r"^```.*?^```", "", linked.read_text(), flags=re.M | re.S)
                headings = re.findall(r"^#+ (.+)$", prose, flags=re.M)
                assert anchor in {_anchor(heading) for heading in headings}, f"{page}: {target}"
