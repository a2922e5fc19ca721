"""Layer 5, publishing: the Hub folder, its card, statistics, previews, manifest, upload.

``export`` turns a frame tree or a direct folder into the folder a Hub dataset repository
holds; ``publish`` uploads it. It imports the layers below it.
"""
