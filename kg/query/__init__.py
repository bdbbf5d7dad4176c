"""The one query path: ready-made ``.rq`` files, parameters bound as RDF terms,
execution on Oxigraph, rdflib or a SPARQL 1.1 endpoint, and result formatting.

Modules import downward only: ``execute`` -> ``result``, ``text``, ``params`` ->
``catalog``; ``formats`` reads a :class:`~kg.query.result.Result` and nothing else.
"""
