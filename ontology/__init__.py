"""The trialkg OWL ontology, its verified term extracts and mappings (package data: kg.ontology)."""
