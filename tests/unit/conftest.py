"""The fold agent's stand-in fixtures, for every test of the agent."""

from tests.unit.fold_stand_ins import bookmarks, folder, gaps, sent, slots

__all__ = ["bookmarks", "folder", "gaps", "sent", "slots"]
