"""Reads of the one desk, one module per topic. They are also the permission gate: every view reads
through them, so scoping to the user's communities cannot be forgotten."""
