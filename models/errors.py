"""Errors raised while locating or loading ML models."""


class ModelError(Exception):
    """A model could not be found, assembled, verified or loaded."""


class MissingDependencyError(ModelError):
    """An optional package needed by the configured model is not installed."""
