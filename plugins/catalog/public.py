"""What other plugins may use of the catalog (declaring ``requires=("catalog",)``):
the merchant's listings and their variants, read through the merchant's session."""

from __future__ import annotations

from plugins.catalog.models import Listing, Variant

__all__ = ["Listing", "Variant"]
