"""The HTTP faces: the JSON API under /api/v1 and the web pages share one application."""
