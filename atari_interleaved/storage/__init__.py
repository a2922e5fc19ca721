"""Layer 2, files and processes: atomic writes, locks, worker processes, parquet and PNG.

How the upper layers write and check bytes on disk: the one atomic-write helper, the output
lock, worker-process helpers, the parquet shard writer and checks, and the PNG checks and
decoder. It imports only :mod:`atari_interleaved.core`.
"""
