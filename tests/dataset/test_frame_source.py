"""The readers of FrameWindows keep export's shard checks: one clear error naming the file."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from huggingface_hub import close_session
from huggingface_hub import constants as hf_constants

from atari_interleaved import FrameWindows, StreamingFrameWindows
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.publishing.publish import publish
from tests.core.test_redaction import point_at_a_closed_port
from tests.fixtures.export_utils import REPO_ID

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)


def first_shard(folder):
    return sorted((folder / "simple").glob("train-*.parquet"))[0]


def truncate(shard):
    shard.write_bytes(shard.read_bytes()[:-100])


def replace_column(shard, name, make):
    table = pq.read_table(shard)
    index = table.schema.get_field_index(name)
    pq.write_table(table.set_column(index, name, make(table[name])), shard)


def action_as_text(shard):
    replace_column(shard, "action_index", lambda column: pc.cast(column, pa.string()))


def a_null_action(shard):
    def nulled(column):
        values = column.to_pylist()
        values[5] = None
        return pa.array(values, column.type)

    replace_column(shard, "action_index", nulled)


def a_gif_frame(shard):
    def gif(column):
        values = column.to_pylist()
        values[7] = b"GIF89a" + bytes(100)
        return pa.array(values, column.type)

    replace_column(shard, "image", gif)


def a_huge_frame(shard):  # a valid header claiming 30000x30000 pixels
    def huge(column):
        values = column.to_pylist()
        head = bytearray(values[2])
        head[16:24] = (30000).to_bytes(4, "big") * 2
        values[2] = bytes(head)
        return pa.array(values, column.type)

    replace_column(shard, "image", huge)


DAMAGES = {
    "truncated": (truncate, r"not a readable parquet shard, damaged or truncated"),
    "wrong type": (action_as_text, r"its column 'action_index' holds string, not int32"),
    "null action": (a_null_action, r"row 5 has no action_index \(null\)"),
    "not a PNG": (
        a_gif_frame,
        r"the image of row 7 \(.* frame \d+\) is not an Atari frame: not a PNG",
    ),
    "huge": (a_huge_frame, r"the image of row 2 .* 30000x30000 pixels"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("streaming", [False, True])
def test_a_damaged_shard_is_one_error_naming_it(export_copy, tmp_path, damage, streaming):
    shard = first_shard(export_copy)
    change, message = DAMAGES[damage]
    change(shard)
    with pytest.raises(InvalidInputError, match=rf"^{shard}.*: {message}"):
        if streaming:
            list(StreamingFrameWindows(export_copy, 4))
        else:
            FrameWindows(export_copy, 4, cache_dir=tmp_path / "cache")
    assert not streaming or not (tmp_path / "cache").exists()


def test_an_endpoint_unreachable_while_streaming_is_one_error(exported_folder, hub_server):
    publish(exported_folder, REPO_ID)
    stream = StreamingFrameWindows(REPO_ID, 4)
    hub_server.server.stop()
    close_session()
    with pytest.raises(
        InvalidInputError, match=rf"cannot be read from the Hub at {hub_server.url}"
    ):
        list(stream)


def test_an_unreachable_endpoint_is_one_error_naming_it_before_any_retry(hub_server, monkeypatch):
    """huggingface_hub retries a listing for about 25 s; the first request is not retried."""
    closed = point_at_a_closed_port(monkeypatch)
    close_session()
    message = rf"source '{REPO_ID}' cannot be read: the Hub at {closed} \(HF_ENDPOINT\) cannot be"
    with pytest.raises(InvalidInputError, match=message):
        StreamingFrameWindows(REPO_ID, 4)


def test_an_unreachable_hub_with_nothing_cached_says_so_not_that_the_repository_is_missing(
    hub_server, monkeypatch, tmp_path
):
    closed = point_at_a_closed_port(monkeypatch)
    close_session()
    message = (
        rf"^source '{REPO_ID}' cannot be read: the Hub at {closed} \(HF_ENDPOINT\) cannot be "
        r"reached \(.+, and the Hugging Face cache holds no copy of its 'train' shards\); "
        r"check the network"
    )
    with pytest.raises(InvalidInputError, match=message):
        FrameWindows(REPO_ID, 4, cache_dir=tmp_path / "cache")


def test_offline_mode_with_nothing_cached_names_hf_hub_offline(hub_server, monkeypatch, tmp_path):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    message = (
        rf"^source '{REPO_ID}' cannot be read: .*\(HF_HUB_OFFLINE is set, and the Hugging Face "
        r"cache holds no copy of its 'train' shards\); unset HF_HUB_OFFLINE"
    )
    with pytest.raises(InvalidInputError, match=message):
        FrameWindows(REPO_ID, 4, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
        ({"split": "tr*"}, r"split='tr\*' is not a split name"),
        ({"split": "../train"}, r"split='../train' is not a split name"),
    ],
)
def test_bad_stream_arguments_are_named(exported_folder, arguments, message):
    with pytest.raises(InvalidArgumentError, match=message):
        StreamingFrameWindows(exported_folder, 4, **arguments)
