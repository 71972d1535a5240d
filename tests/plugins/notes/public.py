"""What other plugins may use of ``notes`` (declaring ``requires=("notes",)``)."""

from __future__ import annotations

from tests.plugins.notes.models import Note

__all__ = ["Note"]
