"""Layer 3, the sampler: Atari episodes into frame folders or parquet shards (pipeline step 1).

Installed as ``atari_interleaved.generate``. It imports only :mod:`atari_interleaved.core` and
:mod:`atari_interleaved.storage`. PIPELINE.md's two scripts live here too, as entry points
of the command line (``python3 generate/sample_all_envs.py``,
``python3 generate/convert_to_training_data.py``).
"""
