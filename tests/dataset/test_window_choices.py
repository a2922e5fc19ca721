"""Windows the way trainers want them: presets, padding at both ends, episodes chosen by meta."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from atari_interleaved import FrameWindows, StreamingFrameWindows
from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.palette import NTSC_GRAY, ale_values_of
from atari_interleaved.dataset.frame_format import PRESETS
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.publish import publish
from tests.dataset.test_windows import assert_same_items, by_key, simple_rows
from tests.fixtures.export_utils import REPO_ID
from tests.fixtures.frame_trees import EPISODES, FRAMES, GAMES, drop_metadata, give_returns
from tests.fixtures.prerequisites import required_module

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)

KEYS = ["environment", "episode", "seed", "policy", "randomness", "return", "length", "end_reason"]


@pytest.fixture(scope="module")
def rows(exported_folder):
    return simple_rows(exported_folder)


@pytest.fixture(scope="module")
def cv2():
    return required_module("cv2", "pip install -e '.[test]' installs opencv-python-headless")


def trainer_frame(name: str, rgb: np.ndarray, cv2) -> np.ndarray:
    """A frame prepared by the trainer's own library calls (not this project's code)."""
    preset = PRESETS[name]
    height, width = preset.size
    if preset.gray:  # ALE's grey of the frame's colours (the table is checked against ALE)
        frame = NTSC_GRAY[ale_values_of(rgb.reshape(-1, 3)).reshape(rgb.shape[:2])]
    else:
        frame = rgb
    if preset.resample == "area":
        return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.BILINEAR))


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_give_each_trainers_frames_on_both_forms(
    exported_folder, rows, tmp_path, cv2, name
):
    windows = FrameWindows(exported_folder, 4, stride=4, preset=name, cache_dir=tmp_path)
    preset = PRESETS[name]
    shape = (4, *preset.size) if preset.gray else (4, *preset.size, 3)
    for item in windows:
        assert item["frames"].shape == shape and item["frames"].dtype == np.uint8
        episode = rows[(item["environment"], item["episode"])]
        for position, frame in enumerate(item["frames"]):
            expected = trainer_frame(name, episode[item["start_frame"] + position]["rgb"], cv2)
            assert np.array_equal(frame, expected)
    # The resized frames are prepared once, beside the frame cache, and read from there.
    prepared = list(tmp_path.glob(f"*.{windows.spec.form.name}.bin"))
    assert len(prepared) == 1
    written = prepared[0].stat().st_mtime_ns
    again = FrameWindows(exported_folder, 4, stride=4, preset=name, cache_dir=tmp_path)
    assert prepared[0].stat().st_mtime_ns == written
    assert_same_items(again, by_key(windows))
    stream = StreamingFrameWindows(exported_folder, 4, stride=4, preset=name, shuffle_buffer=3)
    assert_same_items(stream, by_key(windows))


def frame_items(source, tmp_path) -> dict[tuple[str, str, int], dict]:
    """Each frame's values, from windows of one frame."""
    return by_key(FrameWindows(source, 1, cache_dir=tmp_path))


@pytest.mark.parametrize(("stride", "pad_mode"), [(1, "zeros"), (3, "edge"), (2, "zeros")])
def test_padding_at_both_ends_with_zeros_or_the_edge_frame(
    exported_folder, tmp_path, stride, pad_mode
):
    window = 5
    frames = frame_items(exported_folder, tmp_path)
    windows = FrameWindows(exported_folder, window, stride=stride, pad_start=True, pad_end=True,
                           pad_mode=pad_mode, cache_dir=tmp_path)  # fmt: skip
    starts = [s for s in range(-window + 1, FRAMES) if s % stride == 0]
    assert sorted(by_key(windows)) == sorted(
        (f"atari_{game}", f"episode_{index:03d}_rand0.2", start)
        for game in GAMES for index in range(EPISODES) for start in starts
    )  # fmt: skip
    padded_at = {"start": 0, "end": 0}
    for item in windows:
        start = item["start_frame"]
        for position in range(window):
            frame = start + position
            inside = 0 <= frame < FRAMES
            assert item["mask"][position] == inside
            if not inside:
                padded_at["start" if frame < 0 else "end"] += 1
            if inside or pad_mode == "edge":
                edge = min(max(frame, 0), FRAMES - 1)
                source = frames[(item["environment"], item["episode"], edge)]
                for name in ("frames", "actions", "rewards", "terminated", "is_first"):
                    assert np.array_equal(item[name][position], source[name][0])
            else:
                assert not item["frames"][position].any() and item["actions"][position] == 0
                assert not item["is_first"][position] and not item["terminated"][position]
    assert padded_at["start"] and padded_at["end"]
    stream = StreamingFrameWindows(exported_folder, window, stride=stride, pad_start=True,
                                   pad_end=True, pad_mode=pad_mode, shuffle_buffer=5)  # fmt: skip
    assert_same_items(stream, by_key(windows))


def test_pad_end_alone_gives_windows_starting_at_every_frame(exported_folder, tmp_path):
    windows = FrameWindows(exported_folder, 6, pad_end=True, cache_dir=tmp_path)
    assert len(windows) == len(GAMES) * EPISODES * FRAMES
    last = windows[FRAMES - 1]
    assert last["start_frame"] == FRAMES - 1 and last["mask"].tolist() == [True] + [False] * 5


@pytest.fixture
def scored_export(tree_copy, tmp_path):
    """The tree with rewards in its second episode of each game, and its export."""
    returns = {
        f"atari_{game}/episode_001_rand0.2": reward
        for game, reward in (("alien", 10.0), ("pong", 1.0))
    }
    give_returns(tree_copy, returns)
    export(tree_copy, tmp_path / "scored", repo_id=REPO_ID)
    return tree_copy, tmp_path / "scored"


def test_episodes_are_chosen_by_return_and_by_game(scored_export, tmp_path, hub_server):
    tree, exported = scored_export
    recorded = {}
    for path in sorted(tree.glob("atari_*/episode_*/episode.json")):
        metadata = json.loads(path.read_text())
        recorded[(path.parent.parent.name, path.parent.name)] = {
            "environment": path.parent.parent.name,
            "episode": path.parent.name,
            "seed": metadata["seed"],
            "policy": metadata["policy"],
            "randomness": metadata["randomness"],
            "return": metadata["episode_return"],
            "length": metadata["num_frames"],
            "end_reason": metadata["end_reason"],
        }
    publish(exported, REPO_ID)
    seen: list[dict] = []

    def scored(meta):
        seen.append(meta)
        return meta["return"] > 0

    for source in (tree, exported):
        everything = FrameWindows(source, 4, cache_dir=tmp_path)
        assert sorted(map(tuple, (meta.values() for meta in everything.episodes))) == sorted(
            tuple(meta.values()) for meta in recorded.values()
        )
        seen.clear()
        windows = FrameWindows(source, 4, episodes=scored, cache_dir=tmp_path)
        assert all(list(meta) == KEYS for meta in seen) and len(seen) == len(recorded)
        chosen = {(meta["environment"], meta["episode"]) for meta in windows.episodes}
        assert chosen == {(f"atari_{game}", "episode_001_rand0.2") for game in GAMES}
        assert windows.episodes == [recorded[key] for key in sorted(chosen)]
        assert windows.num_episodes == 2 and windows.num_frames == 2 * FRAMES
        expected = {k: v for k, v in by_key(everything).items() if k[:2] in chosen}
        assert_same_items(windows, expected)
        if source == exported:  # from the Hub: the map-style form reads the metas remotely
            hub = FrameWindows(REPO_ID, 4, episodes=scored, cache_dir=tmp_path)
            assert hub.episodes == windows.episodes
            assert_same_items(hub, expected)
        for stream_source in (source, REPO_ID) if source == exported else (source,):
            stream = StreamingFrameWindows(stream_source, 4, episodes=scored, shuffle_buffer=3)
            assert_same_items(stream, expected)
            assert (
                sorted(meta["episode"] for meta in stream.episodes) == ["episode_001_rand0.2"] * 2
            )
        pong = FrameWindows(source, 4, episodes=lambda meta: meta["environment"] == "atari_pong",
                            cache_dir=tmp_path)  # fmt: skip
        assert {item["environment"] for item in pong} == {"atari_pong"}
        assert len(pong) == len(everything) // 2


def test_the_direct_folder_knows_the_same_metas(direct_folder, exported_folder, tmp_path):
    direct = FrameWindows(direct_folder, 4, cache_dir=tmp_path).episodes
    exported = FrameWindows(exported_folder, 4, cache_dir=tmp_path).episodes
    assert direct == exported and {meta["policy"] for meta in direct} == {"repeat"}
    stream = StreamingFrameWindows(direct_folder, 4).episodes
    assert sorted(stream, key=str) == sorted(direct, key=str)


def test_a_tree_of_another_tool_has_the_metas_its_folders_tell(tree_copy, tmp_path):
    metas = FrameWindows(drop_metadata(tree_copy), 4, cache_dir=tmp_path).episodes
    assert len(metas) == len(GAMES) * EPISODES
    for meta in metas:
        assert (meta["randomness"], meta["length"]) == (0.2, FRAMES)
        assert [meta[key] for key in ("seed", "policy", "return", "end_reason")] == [None] * 4
    chosen = FrameWindows(tree_copy, 4, cache_dir=tmp_path, episodes=lambda m: m["length"] > 5)
    assert chosen.num_episodes == len(metas)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"episodes": 3}, r"episodes must be a function of an episode's meta .*episodes=3"),
        ({"episodes": lambda meta: False}, r"episodes= keeps none of the 4 episodes of export"),
        ({"pad_mode": "reflect"}, r"pad_mode='reflect' is not a padding: choose one of zeros, e"),
        ({"size": (0, 0)}, r"size must be \(height, width\), two integers >= 1"),
        ({"preset": "genie"}, r"preset='genie' is not a preset"),
        ({"resample": "nearest"}, r"resample='nearest' is not a resampling"),
        ({"preset": "dqn", "size": (64, 64)}, r"size=\(64, 64\) contradicts preset='dqn'"),
        ({"preset": "diamond", "rgb": False}, r"rgb=False gives ALE colour values, which cannot"),
    ],
)
def test_bad_choices_are_named_before_any_work(exported_folder, tmp_path, arguments, message):
    with pytest.raises(InvalidArgumentError, match=message):
        FrameWindows(exported_folder, 4, cache_dir=tmp_path / "cache", **arguments)
    assert not (tmp_path / "cache").exists() or "keeps none" in message
    if "keeps none" not in message:  # checked before the source is even looked at
        with pytest.raises(InvalidArgumentError, match=message):
            StreamingFrameWindows(tmp_path / "missing", 4, **arguments)
