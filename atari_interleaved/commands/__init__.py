"""The subcommands of ``atari-interleaved`` that export, check, preview, publish and build.

Each module follows the pattern of :mod:`atari_interleaved.cli`: ``COMMAND``, ``HELP``,
``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""
