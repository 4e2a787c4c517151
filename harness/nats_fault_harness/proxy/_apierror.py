"""Toxiproxy's API errors: a message plus the HTTP status it is answered with.

One exception type and one constructor per sentinel of Toxiproxy's ``api.go``; the HTTP
layer turns any :class:`ApiError` into Toxiproxy's error body.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "bad_request_body",
    "invalid_stream",
    "invalid_toxic_type",
    "missing_field",
    "proxy_already_exists",
    "proxy_not_found",
    "toxic_already_exists",
    "toxic_not_found",
]


class ApiError(Exception):
    """An error answered as ``{"error": message, "status": status}``.

    Attributes:
        message: the ``error`` text.
        status: the HTTP status (also the ``status`` field).
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def bad_request_body(detail: str) -> ApiError:
    """400 ``bad request body: <detail>``."""
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(what: str) -> ApiError:
    """400 ``missing required field: <what>``."""
    return ApiError(f"missing required field: {what}", 400)


def invalid_stream() -> ApiError:
    """400 for a stream other than upstream/downstream."""
    return ApiError("stream was invalid, can be either upstream or downstream", 400)


def invalid_toxic_type() -> ApiError:
    """400 for an unknown (or missing) toxic type."""
    return ApiError("invalid toxic type", 400)


def proxy_not_found() -> ApiError:
    """404 ``proxy not found``."""
    return ApiError("proxy not found", 404)


def toxic_not_found() -> ApiError:
    """404 ``toxic not found``."""
    return ApiError("toxic not found", 404)


def proxy_already_exists() -> ApiError:
    """409 ``proxy already exists``."""
    return ApiError("proxy already exists", 409)


def toxic_already_exists() -> ApiError:
    """409 ``toxic already exists``."""
    return ApiError("toxic already exists", 409)
