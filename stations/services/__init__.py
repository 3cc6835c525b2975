"""Writes of the one desk: one function per action, each one transaction (lock, check, save,
record history, notify after commit)."""
