"""The merchant's catalog: listings and their variants, shared by the other plugins."""
