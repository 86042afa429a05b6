"""Running GraphQL: documents parsed and validated once, operations prepared and executed.

``documents.py`` parses and validates each distinct document once;
``prepare.py`` holds the steps that turn parameters into a runnable
operation (parse, validate, pick the operation, coerce its variables);
``execute.py`` runs it (one result, an incremental stream, or a
subscription) and ``masking.py`` hides unexpected errors; ``incremental.py``
shapes ``@defer``/``@stream`` payloads.

May import: ``gateway.pipeline``, ``gateway.errors``, ``gateway.context``,
``limits`` (document shape) and graphql-core; never ``http``.
"""
