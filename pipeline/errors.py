"""Errors raised by ingestion stages."""


class PipelineError(Exception):
    """Base class for pipeline failures."""


class InputError(PipelineError):
    """The user's input cannot be used: missing file, undecodable audio, malformed rows."""
