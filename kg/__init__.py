"""trialkg: clinical-trial results as a validated linked-data knowledge graph."""

__version__ = "0.1.0"
