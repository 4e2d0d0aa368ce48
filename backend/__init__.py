"""Courtside backend: settings, storage, services, video pipeline and netball analytics."""

__version__ = "0.1.0"
