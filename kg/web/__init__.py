"""The web layer: linked-data pages, content negotiation, ``/sparql``, and the static site.

Modules import downward only: ``serve`` and ``publish`` -> ``pages`` ->
``figures``, ``site``, ``endpoint`` -> ``negotiate``.
"""
