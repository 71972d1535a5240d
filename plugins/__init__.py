"""Built-in plugins: each sub-package with a plugin.py is one (see docs/plugins.md)."""
