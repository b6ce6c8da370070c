"""Searchable documents, as each app declares them in `ready()`.

`register(Model)` makes every row of the model a document of the site's
search: the model gives `search_document()`, a dict of its `title`, `body`,
`date` and the visibility facts (`live`, `visible_from`, `inner_party`,
`branch`, `public_from`) that
mirror the querysets deciding who may see it. The search index
(composition/search.py) keeps one entry per document, written on every row
event of the model and of its declared parts (`parts`, rows whose text is in
the document), and reads nothing else of it.
"""

document_models: dict[str, type] = {}

FIELDS = {
    "title",
    "body",
    "date",
    "live",
    "visible_from",
    "inner_party",
    "branch",
    "public_from",
}


# A model whose rows are part of another's document (label -> the name of
# its foreign key to the document's row): the document is written again when
# one of them changes (a case's earlier rounds, in its answer's document).
document_parts: dict[str, str] = {}


def register(model, *, parts: dict | None = None) -> None:
    """`parts`: {part model: name of its foreign key to `model`}."""
    if not callable(getattr(model, "search_document", None)):
        raise TypeError(f"{model._meta.label} has no search_document()")
    document_models[model._meta.label] = model
    for part, fk in (parts or {}).items():
        document_parts[part._meta.label] = fk
