"""Merchant Voice: the host that every plugin runs in."""

from packaging.version import Version

__version__ = "0.1.0"

HOST_API_VERSION = Version("1.6")
"""The plugin contract's version. Plugins declare the range they support."""
