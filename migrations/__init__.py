"""Alembic migrations of the host's tables. Plugins keep theirs in their own folder."""
