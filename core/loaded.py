"""Fields remembered as a row was loaded or last saved."""


class KeepsLoaded:
    """Remembers some fields as loaded or last saved (`_loaded_<field>`), so
    that a change names the pages of where the row was as well as where it
    is (the apps' page_scopes). The row event of a save is sent inside
    `save()`, before they are remembered again. A mixin before
    `models.Model`."""

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
        super().save(*args, **kwargs)
        self.remember_loaded()
