"""The SHACL shapes every publication is validated with (package data: kg.shapes)."""
