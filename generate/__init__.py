"""Sampling Atari episodes into frame folders (pipeline step 1).

Installed as ``atari_interleaved.generate``; the scripts of PIPELINE.md live here too
(``python3 generate/sample_all_envs.py``, ``python3 generate/convert_to_training_data.py``).
"""
