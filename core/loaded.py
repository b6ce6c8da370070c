"""Fields remembered as a row was loaded or last saved, and read again
from the database just before a save."""

from django.db import router, transaction


def row_before(model, pk, fields, *, using: str | None = None) -> dict | None:
    """The row's `fields` as the database holds them now (None: no such
    row). Inside a transaction (the admin's, a service's) the row is locked
    until it ends: a save running beside this one waits, so the change it
    makes is the one this save's reading sees, or comes after it."""
    db = using or router.db_for_write(model)
    rows = model._base_manager.using(db).filter(pk=pk)
    if transaction.get_connection(db).in_atomic_block:
        rows = rows.select_for_update()
    return rows.values(*fields).first()


def not_loaded(event, field: str) -> bool:
    """A row event of a row saved over (or deleted as) one it was not loaded
    from (built by hand, a restore): where it was is unknown, since
    KeepsLoaded remembers only what was loaded or saved through the
    instance. `event` is a core.events.Event."""
    return (
        event.is_row_event
        and not event.created
        and not hasattr(event.instance, f"_loaded_{field}")
    )


class KeepsLoaded:
    """Remembers some fields as loaded or last saved (`_loaded_<field>`), so
    that a change names the pages of where the row was as well as where it
    is (the apps' page_scopes). A save of a row that exists reads them from
    the database first (`row_before`): an older instance, or one whose save
    was rolled back, would otherwise name where it thinks the row was. The
    row event of a save is sent inside `save()`, before they are remembered
    again. A deletion reads them first too. A mixin before `models.Model`."""

    kept_as_loaded: tuple[str, ...] = ()

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance.remember_loaded()
        return instance

    def remember_loaded(self) -> None:
        for name in self.kept_as_loaded:
            setattr(self, f"_loaded_{name}", self.__dict__.get(name))

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        # Read again: what is in the database now is where the row is (a
        # deferred field read on access comes through here too).
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        read = None if fields is None else {f.removesuffix("_id") for f in fields}
        for name in self.kept_as_loaded:
            if read is None or name.removesuffix("_id") in read:
                setattr(self, f"_loaded_{name}", self.__dict__.get(name))

    def save(self, *args, **kwargs):
        # Built, not loaded, over a row that may be there (a history revert,
        # a restore, a copy made by hand): read as a loaded one is.
        if not self.kept_as_loaded or self.pk is None:
            super().save(*args, **kwargs)  # new: it was nowhere
        else:
            # The read and the write in one transaction: the read locks the
            # row, so a save beside this one is seen or comes after.
            using = kwargs.get("using")
            with transaction.atomic(using=using, savepoint=False):
                before = row_before(
                    type(self), self.pk, self.kept_as_loaded, using=using
                )
                if before is not None:
                    for name, value in before.items():
                        setattr(self, f"_loaded_{name}", value)
                super().save(*args, **kwargs)
        self.remember_loaded()

    def delete(self, using=None, keep_parents=False):
        # As a save: where the row is now, not where this instance thinks
        # (a move rolled back, or made since through another instance); its
        # deletion names both. A queryset's delete loads the rows it sends.
        if not self.kept_as_loaded or self.pk is None:
            return super().delete(using=using, keep_parents=keep_parents)
        with transaction.atomic(using=using, savepoint=False):
            before = row_before(type(self), self.pk, self.kept_as_loaded, using=using)
            if before is not None:
                for name, value in before.items():
                    setattr(self, f"_loaded_{name}", value)
            return super().delete(using=using, keep_parents=keep_parents)
