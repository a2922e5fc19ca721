"""Loading script of the Atari frame trees for datasets < 4 (datasets >= 4 runs no scripts).

    from datasets import load_dataset
    dataset = load_dataset(
        "atari_interleaved.py", "interleaved",  # or "simple"
        data_dir="sampled_frames_organized", trust_remote_code=True,
    )

It needs the ``atari-interleaved`` package installed (``pip install -e .``) and gives the rows
of :class:`atari_interleaved.builder.AtariInterleaved`, which datasets >= 4 users call
directly: ``atari_interleaved.load_frames("sampled_frames_organized", "interleaved")``.
"""

from __future__ import annotations

from atari_interleaved import builder


class AtariInterleaved(builder.AtariInterleaved):
    """The package's builder, named after this script."""
