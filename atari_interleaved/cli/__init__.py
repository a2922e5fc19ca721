"""Layer 7, the command line: ``atari-interleaved`` and its subcommands, one module each.

:mod:`~atari_interleaved.cli.app` is the console script; each other module defines one
subcommand (``COMMAND``, ``HELP``, ``DESCRIPTION``, ``add_arguments``, ``run``), and
:mod:`~atari_interleaved.cli.options` the argument types they share. It is the top layer.
"""
