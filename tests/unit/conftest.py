"""The channel actors on plain dicts, for every test of the fold outside the broker."""

from tests.unit.fold_stand_ins import bookmarks, folder, sent, slots

__all__ = ["bookmarks", "folder", "sent", "slots"]
