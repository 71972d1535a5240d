"""A complete example plugin: merchant notes with tags."""
