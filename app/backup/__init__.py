"""Backups that restore: a database's snapshot encrypted in one file (``archive``),
taken and loaded on SQLite or PostgreSQL (``database``), and the drill that proves a
restored copy whole (``drill``). The commands are ``audit-tools backup`` and
``audit-tools restore``."""
