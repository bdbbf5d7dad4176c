"""One Turtle file per publication, and the text it was curated from (package data: kg.trials)."""
