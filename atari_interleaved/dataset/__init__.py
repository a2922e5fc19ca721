"""Layer 4, the dataset: reading frame trees, convert, the builder, training loaders.

It reads what :mod:`atari_interleaved.generate` wrote (frame trees and direct parquet
folders): the tree reader and its checks, the convert engine, the ``GeneratorBasedBuilder``
with its ``interleaved`` and ``simple`` configs, its registration with ``datasets``, and the
windowed loaders for training. It imports the layers below it.
"""
