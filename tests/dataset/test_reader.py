from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.dataset.reader import read_episode, read_episodes, scan_tree
from tests.fixtures.frame_trees import ALIEN_EPISODE, EPISODES, FRAMES, GAMES, ORDER, drop_metadata
from tests.fixtures.png_utils import palette_header_png


def names(tree) -> list[str]:
    return [f"{episode.path.parent.name}/{episode.name}" for episode in tree.episodes]


def test_scan_root_in_stable_order(frame_tree):
    tree = scan_tree(frame_tree)
    assert names(tree) == ORDER
    assert tree.games == list(GAMES)
    assert tree.skipped == []


def test_scan_one_game_folder(frame_tree):
    assert names(scan_tree(frame_tree / "atari_pong")) == ORDER[EPISODES:]


def test_order_is_numeric_then_by_randomness(tree_copy):
    game = tree_copy / "atari_alien"
    source = game / "episode_001_rand0.2"
    for name in ["episode_1000_rand0.2", "episode_999_rand0.2", "episode_000_rand0.5"]:
        drop_metadata(Path(shutil.copytree(source, game / name)))
    episodes = [episode.name for episode in scan_tree(game).episodes]
    assert episodes == [
        "episode_000_rand0.2",
        "episode_001_rand0.2",
        "episode_999_rand0.2",
        "episode_1000_rand0.2",
        "episode_000_rand0.5",
    ]


def test_ignores_hidden_temporaries_and_files_beside_folders(tree_copy):
    (tree_copy / ".tmp-atari_alien").mkdir()
    (tree_copy / "atari_alien" / ".tmp-episode_002_rand0.2-123").mkdir()
    (tree_copy / "notes.txt").write_text("mine")
    (tree_copy / "atari_training_data.parquet").write_bytes(b"PAR1")
    (tree_copy / "atari_alien" / ALIEN_EPISODE.name / ".DS_Store").write_bytes(b"")
    tree = scan_tree(tree_copy)
    assert names(tree) == ORDER
    assert len(list(read_episodes(tree.episodes))) == len(ORDER)


def test_read_episode_with_metadata(frame_tree):
    source = scan_tree(frame_tree).episodes[0]
    episode = read_episode(source)
    folder = frame_tree / ALIEN_EPISODE
    assert (episode.game, episode.episode_index, episode.randomness) == ("alien", 0, 0.2)
    assert episode.name == "episode_000_rand0.2"
    assert episode.frames == [(folder / f"frame_{i:06d}.png").read_bytes() for i in range(FRAMES)]
    lines = [(folder / f"action_{i:06d}.txt").read_text().strip() for i in range(FRAMES)]
    assert [episode.action_line(i) for i in range(FRAMES)] == lines
    assert episode.metadata is not None
    assert episode.action_meanings == episode.metadata.action_set
    assert episode.actions == episode.metadata.actions


def test_read_episode_without_metadata(tree_copy):
    drop_metadata(tree_copy)
    episode = read_episode(scan_tree(tree_copy).episodes[0])
    assert episode.metadata is None
    folder = tree_copy / ALIEN_EPISODE
    for i in range(FRAMES):
        line = (folder / f"action_{i:06d}.txt").read_text().strip()
        assert episode.action_line(i) == line
    assert len(episode.action_meanings) == max(episode.actions) + 1


def _edit_metadata(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


EPISODE = ALIEN_EPISODE


def _rename_action(root: Path) -> None:
    path = root / EPISODE / "action_000007.txt"
    index = path.read_text().split(":")[0]
    path.write_text(f"{index}: WARP")


# Each case: how to break a copy of the tree, the file the error must name, and what it says.
BAD_EPISODES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "frame without action": (
        lambda root: (root / EPISODE / "action_000003.txt").unlink(),
        "frame_000003.png",
        "frame without its action file action_000003.txt",
    ),
    "action without frame": (
        lambda root: (root / EPISODE / "frame_000003.png").unlink(),
        "action_000003.txt",
        "action file without its frame frame_000003.png",
    ),
    "gap in frame numbers": (
        lambda root: [
            (root / EPISODE / f"{kind}_000004.{ext}").unlink()
            for kind, ext in [("frame", "png"), ("action", "txt")]
        ],
        "frame_000004.png",
        "missing: frame numbers have a gap",
    ),
    "truncated png": (
        lambda root: (root / EPISODE / "frame_000005.png").write_bytes(
            (root / EPISODE / "frame_000005.png").read_bytes()[:300]
        ),
        "frame_000005.png",
        "not a valid PNG: truncated",
    ),
    "corrupt png": (
        lambda root: (root / EPISODE / "frame_000002.png").write_bytes(
            (root / EPISODE / "frame_000002.png").read_bytes().replace(b"IDAT", b"IDAT\1", 1)
        ),
        "frame_000002.png",
        "not a valid PNG",
    ),
    "text as png": (
        lambda root: (root / EPISODE / "frame_000000.png").write_text("hello"),
        "frame_000000.png",
        "not a valid PNG: not a PNG file",
    ),
    "empty png": (
        lambda root: (root / EPISODE / "frame_000001.png").write_bytes(b""),
        "frame_000001.png",
        "not a valid PNG",
    ),
    "malformed action line": (
        lambda root: (root / EPISODE / "action_000006.txt").write_text("8 DOWNRIGHT"),
        "action_000006.txt",
        "action line '8 DOWNRIGHT' is malformed",
    ),
    "empty action file": (
        lambda root: (root / EPISODE / "action_000006.txt").write_text(""),
        "action_000006.txt",
        "is malformed",
    ),
    "binary action file": (
        lambda root: (root / EPISODE / "action_000006.txt").write_bytes(b"\xff\xfe"),
        "action_000006.txt",
        "not ASCII text",
    ),
    "action meaning not in metadata": (
        _rename_action,
        "action_000007.txt",
        "is 'WARP' here but",
    ),
    "unexpected file in episode": (
        lambda root: (root / EPISODE / "frame_7.png").write_bytes(b""),
        "frame_7.png",
        "unexpected file in an episode folder",
    ),
    "empty episode folder": (
        lambda root: [path.unlink() for path in (root / EPISODE).iterdir()],
        "episode_000_rand0.2",
        "episode folder without frames",
    ),
    "metadata frame count": (
        lambda root: _edit_metadata(root / EPISODE / "episode.json", num_frames=FRAMES + 1),
        "episode.json",
        f"actions has {FRAMES} entries for {FRAMES + 1} frames",
    ),
    "metadata other game": (
        lambda root: _edit_metadata(root / EPISODE / "episode.json", game="pong"),
        "episode.json",
        "says game='pong' but the folder gives 'alien'",
    ),
    "metadata actions": (
        lambda root: _edit_metadata(
            root / EPISODE / "episode.json",
            actions=[
                (a + 1) % 18
                for a in json.loads((root / EPISODE / "episode.json").read_text())["actions"]
            ],
        ),
        "episode.json",
        "gives action",
    ),
    "metadata rewards length": (
        lambda root: _edit_metadata(root / EPISODE / "episode.json", rewards=[0.0]),
        "episode.json",
        f"rewards has 1 entries for {FRAMES} frames",
    ),
    "metadata not json": (
        lambda root: (root / EPISODE / "episode.json").write_text("{"),
        "episode.json",
        "not a valid episode metadata file",
    ),
}


def _write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda root: (root / EPISODE / name).write_bytes(content)


def _save_frame(root: Path, image: Image.Image) -> None:
    image.save(root / EPISODE / "frame_000004.png", format="PNG")


def test_an_rgb_frame_is_a_frame(tree_copy):
    path = tree_copy / EPISODE / "frame_000004.png"
    rgb = Image.open(path).convert("RGB")
    rgb.save(path, format="PNG")
    episode = read_episode(scan_tree(tree_copy).episodes[0])
    assert Image.open(io.BytesIO(episode.frames[4])).mode == "RGB"
    assert episode.frames[4] == path.read_bytes()


def _nest(depth: int) -> Callable[[Path], None]:
    return _write("episode.json", b"[" * depth + b"]" * depth)


def _meta(**changes) -> Callable[[Path], None]:
    return lambda root: _edit_metadata(root / EPISODE / "episode.json", **changes)


def _drop_meta_field(name: str) -> Callable[[Path], None]:
    def breaks(root: Path) -> None:
        path = root / EPISODE / "episode.json"
        data = json.loads(path.read_text())
        del data[name]
        path.write_text(json.dumps(data))

    return breaks


# Hostile input: sizes read from files are bounded, episode.json is checked field by field.
BAD_EPISODES.update(
    {
        "huge action index": (
            _write("action_000006.txt", b"99999999999999999999: FOO"),
            "action_000006.txt",
            "gives action 99999999999999999999, but ALE has 18 actions (0 to 17)",
        ),
        "action index 18": (
            _write("action_000006.txt", b"18: FOO"),
            "action_000006.txt",
            "gives action 18, but ALE has 18 actions",
        ),
        "huge action file": (
            _write("action_000006.txt", b"8: DOWNRIGHT" + b" " * 1000),
            "action_000006.txt",
            "too large for an action file (over 256 bytes)",
        ),
        "huge frame file": (
            _write("frame_000002.png", b"\x89PNG" + bytes(2 << 20)),
            "frame_000002.png",
            "too large for a frame (over 1048576 bytes)",
        ),
        "folder named like a frame": (
            lambda root: (root / EPISODE / "frame_000099.png").mkdir(),
            "frame_000099.png",
            "not a regular file",
        ),
        "frame of another size": (
            lambda root: _save_frame(root, Image.new("P", (64, 48))),
            "frame_000004.png",
            "64x48 pixels (width x height), but an Atari frame is 160x210",
        ),
        "frame with alpha": (
            lambda root: _save_frame(root, Image.new("RGBA", (160, 210))),
            "frame_000004.png",
            "an RGBA PNG of 8 bits per sample (colour type 6), but a frame is a palette PNG",
        ),
        "decompression bomb frame": (
            _write("frame_000004.png", palette_header_png(30_000, 30_000, 30_000, 3751)),
            "frame_000004.png",
            "30000x30000 pixels",
        ),
        "metadata actions null": (
            _meta(actions=None),
            "episode.json",
            "field 'actions' must be a list, each entry an integer, got null",
        ),
        "metadata seed string": (
            _meta(seed="x"),
            "episode.json",
            "field 'seed' must be an integer, got \"x\"",
        ),
        "metadata seed bool": (_meta(seed=True), "episode.json", "'seed' must be an integer"),
        "metadata seed beyond int64": (
            _meta(seed=1 << 64),
            "episode.json",
            "'seed' must be an integer, got 18446744073709551616",
        ),
        "metadata reward nan": (
            _meta(rewards=[float("nan")] * FRAMES),
            "episode.json",
            "field 'rewards[0]' must be a finite number, got nan",
        ),
        "metadata episode_return inf": (
            _meta(episode_return=float("inf")),
            "episode.json",
            "field 'episode_return' must be a finite number, got inf",
        ),
        "metadata terminated as ints": (
            _meta(terminated=[0] * FRAMES),
            "episode.json",
            "field 'terminated[0]' must be true or false, got 0",
        ),
        "metadata end_reason": (
            _meta(end_reason="boom"),
            "episode.json",
            'field \'end_reason\' must be one of "game_over", "truncated", "frame_cap", got "boom"',
        ),
        "metadata versions": (
            _meta(versions={"ale-py": 12}),
            "episode.json",
            "field 'versions.ale-py' must be a string, got 12",
        ),
        "metadata missing field": (
            _drop_meta_field("rom_md5"),
            "episode.json",
            "field 'rom_md5' is missing",
        ),
        "metadata unknown field": (_meta(colour="red"), "episode.json", "unknown field 'colour'"),
        "metadata not an object": (_write("episode.json", b"[1]"), "episode.json", "a JSON object"),
        "metadata nested too deep": (_nest(100_000), "episode.json", "not a valid episode"),
        "metadata action outside action_set": (
            _meta(actions=[17] * FRAMES, action_set=["NOOP"]),
            "episode.json",
            "field 'actions[0]' is 17, not an index of the 1 actions of action_set",
        ),
        "metadata applied_actions too short": (
            _meta(applied_actions=[[0]]),
            "episode.json",
            f"applied_actions has 1 entries for {FRAMES} frames",
        ),
        "metadata applied action outside action_set": (
            _meta(start_actions=[0, 18], action_set=["NOOP"] * 18),
            "episode.json",
            "field 'start_actions[1]' is 18, not an index of the 18 actions of action_set",
        ),
        "metadata action_set too long": (
            _meta(action_set=["NOOP"] * 19),
            "episode.json",
            "'action_set' has 19 actions, ALE has at most 18",
        ),
    }
)


BAD_FOLDERS: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "episode folder name": (
        lambda root: (root / "atari_alien" / "episode_x").mkdir(),
        "episode_x",
        "is not an episode folder",
    ),
    "non-canonical episode name": (
        lambda root: (root / EPISODE).rename(root / "atari_alien" / "episode_000_rand0.20"),
        "episode_000_rand0.20",
        "expected 'episode_000_rand0.2'",
    ),
    "game folder name": (
        lambda root: (root / "Alien").mkdir(),
        "Alien",
        "is not a game folder",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_EPISODES))
def test_bad_episode_is_named(tree_copy, case):
    breaks, file_name, problem = BAD_EPISODES[case]
    breaks(tree_copy)
    tree = scan_tree(tree_copy)
    with pytest.raises(InvalidInputError, match="skip bad episodes") as error:
        list(read_episodes(tree.episodes))
    message = str(error.value)
    assert file_name in message and problem in message, message
    assert str(tree_copy / EPISODE) in message


@pytest.mark.parametrize("case", sorted(BAD_EPISODES))
def test_bad_episode_is_skipped_with_a_warning(tree_copy, case, caplog):
    breaks, file_name, _ = BAD_EPISODES[case]
    breaks(tree_copy)
    skipped = []
    episodes = list(
        read_episodes(scan_tree(tree_copy).episodes, on_bad_episodes="skip", skipped=skipped)
    )
    assert [f"atari_{e.game}/{e.name}" for e in episodes] == ORDER[1:]
    assert [bad.path for bad in skipped] == [tree_copy / EPISODE]
    assert file_name in skipped[0].problem


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_bad_folder_name(tree_copy, case, caplog):
    breaks, name, problem = BAD_FOLDERS[case]
    breaks(tree_copy)
    with pytest.raises(InvalidInputError, match=problem) as error:
        scan_tree(tree_copy)
    assert name in str(error.value)
    tree = scan_tree(tree_copy, on_bad_episodes="skip")
    assert [bad.path.name for bad in tree.skipped] == [name]
    assert name not in names(tree)


def test_bad_metadata_in_a_tree_without_metadata_elsewhere(tree_copy):
    drop_metadata(tree_copy)
    (tree_copy / EPISODE / "action_000000.txt").write_text("0: SOMETHING")
    (tree_copy / EPISODE / "action_000001.txt").write_text("0: OTHER")
    with pytest.raises(InvalidInputError, match="action 0 is 'OTHER' here but 'SOMETHING' in an"):
        read_episode(scan_tree(tree_copy).episodes[0])


def test_missing_input_dir(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        scan_tree(tmp_path / "sampled_frames_organized")


def test_input_is_a_file(tmp_path):
    (tmp_path / "frames").write_text("")
    with pytest.raises(InvalidInputError, match="is not a folder"):
        scan_tree(tmp_path / "frames")


@pytest.mark.parametrize("content", [[], ["sampling_config.json"], ["atari_alien/"]])
def test_empty_input_dir(tmp_path, content):
    root = tmp_path / "frames"
    root.mkdir()
    for name in content:
        if name.endswith("/"):
            (root / name).mkdir()
        else:
            (root / name).write_text("{}")
    with pytest.raises(InvalidInputError, match="holds no episode"):
        scan_tree(root)


def test_unknown_option(frame_tree):
    with pytest.raises(InvalidArgumentError, match="on_bad_episodes must be one of error, skip"):
        scan_tree(frame_tree, on_bad_episodes="warn")


def test_warning_lists_skipped_folders(tree_copy, caplog):
    from atari_interleaved.dataset.reader import warn_skipped

    (tree_copy / "atari_alien" / "episode_x").mkdir()
    tree = scan_tree(tree_copy, on_bad_episodes="skip")
    with caplog.at_level(logging.WARNING):
        warn_skipped(tree.skipped)
    assert "skipped 1 bad episode folder(s)" in caplog.text
    assert "episode_x" in caplog.text
