"""The HTTP side of the host: API blueprint kit, OpenAPI, error responses."""
