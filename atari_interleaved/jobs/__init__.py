"""Layer 6, jobs: several steps chained into one (``build``). It imports the layers below it."""
