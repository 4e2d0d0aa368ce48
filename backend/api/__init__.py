"""The REST API: a thin FastAPI layer over backend.services (`python -m backend serve`)."""
