"""What the disclosure app announces beyond post_save, for the search index and
the page cache (connected in composition/apps.py).

Most changes reach them through each row's post_save; these are changes made to
many rows at once with `QuerySet.update()`, which sends none.
"""

from django.dispatch import Signal

# Sent with `ids`, a list of disclosure ids just made 党内 together because
# their catalog item became 党内 (`services.follow_item_scope`).
made_inner_party = Signal()
