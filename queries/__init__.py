"""The ready-made SPARQL queries, one self-describing .rq each (package data: kg.queries)."""
