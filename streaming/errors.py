"""One exception root for the whole project, mapped to HTTP in `streaming.http` only.

StreamingError (500 internal)
├── ConfigError (500 config_invalid)        bad distribution file; the CLI prints one line
├── BadRequest (400 bad_request)
│   ├── InvalidPath (400 invalid_path)      traversal, bad ids or file names
│   └── RangeNotSatisfiable (416 range_not_satisfiable)
├── Unauthorized (401 unauthorized)         missing admin token
├── Forbidden (403 forbidden)               wrong admin token, access denied
│   └── AccessDenied (403 access_denied)    a viewer/edge failed an access check; `reason`
│       └── Misdirected (421 misdirected_request) a Host the distribution does not serve
├── URITooLong (414 uri_too_long)
├── TooManyRequests (429 too_many_requests) rate limited; `retry_after` seconds
├── HeadersTooLarge (431 headers_too_large)
├── NotFound (404 not_found)
│   └── Gone (410 gone)                     deleted for good: a replica of it is refused
├── MethodNotAllowed (405 method_not_allowed)
├── Conflict (409 conflict)
├── PayloadTooLarge (413 payload_too_large)
├── UnsupportedMedia (415 unsupported_media) the upload is not a usable video
├── MediaError (422 media_error)            ffmpeg could not package an input
├── OriginError (502 origin_error)          every origin failed or answered garbage
│   └── OriginTimeout (504 origin_timeout)
├── EdgeFunctionError (502 function_error)  an edge function raised or returned garbage
└── Unavailable (503 unavailable)           shutting down, queue full, origin fetch cap
"""

from __future__ import annotations

from typing import ClassVar


class StreamingError(Exception):
    """Root of every error the project raises on purpose; carries its HTTP status and code."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigError(StreamingError):
    code = "config_invalid"


class BadRequest(StreamingError):
    status_code = 400
    code = "bad_request"


class InvalidPath(BadRequest):
    code = "invalid_path"


class RangeNotSatisfiable(BadRequest):
    status_code = 416
    code = "range_not_satisfiable"

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(detail)
        self.size = size


class Unauthorized(StreamingError):
    status_code = 401
    code = "unauthorized"


class Forbidden(StreamingError):
    status_code = 403
    code = "forbidden"


class AccessDenied(Forbidden):
    """An access check failed; `reason` is one short machine-readable word
    (see docs/access-control.md).
    """

    code = "access_denied"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class Misdirected(AccessDenied):
    """A request for a Host this distribution does not serve (RFC 9110 §15.5.20): the viewer
    may retry on a connection to the right server. An AccessDenied for its `reason`."""

    status_code = 421
    code = "misdirected_request"


class URITooLong(StreamingError):
    status_code = 414
    code = "uri_too_long"


class TooManyRequests(StreamingError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class HeadersTooLarge(StreamingError):
    status_code = 431
    code = "headers_too_large"


class NotFound(StreamingError):
    status_code = 404
    code = "not_found"


class Gone(NotFound):
    status_code = 410
    code = "gone"


class MethodNotAllowed(StreamingError):
    status_code = 405
    code = "method_not_allowed"


class Conflict(StreamingError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(StreamingError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMedia(StreamingError):
    status_code = 415
    code = "unsupported_media"


class MediaError(StreamingError):
    status_code = 422
    code = "media_error"


class OriginError(StreamingError):
    status_code = 502
    code = "origin_error"


class OriginTimeout(OriginError):
    status_code = 504
    code = "origin_timeout"


class EdgeFunctionError(StreamingError):
    status_code = 502
    code = "function_error"


class Unavailable(StreamingError):
    status_code = 503
    code = "unavailable"
