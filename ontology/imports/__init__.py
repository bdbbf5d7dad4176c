"""Extracts of the external terms the ontology uses, each with where it was checked (package data)."""
