"""Layer 1, the data contract: names of the layout, episodes, features, rows, settings.

Everything the other layers agree on and nothing that does I/O beyond reading small files:
the folder and file names, what an episode and its ``episode.json`` hold, the ``Features`` of
both configs and how an episode becomes rows, the sampling settings and their checks, the
splits, and what kind of folder a path is. It imports no other layer.
"""
