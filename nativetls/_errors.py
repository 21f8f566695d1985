# -*- coding: utf-8 -*-
"""The exceptions of nativetls, and the one place that words the messages users read."""
from __future__ import absolute_import, division, print_function, unicode_literals

__all__ = [
    "TLSError", "WantReadError", "WantWriteError", "RaggedEOF", "ConfigurationError",
    "CertificateVerificationError", "SecurityWarning", "VERIFICATION_REASONS", "verification_message",
]


class TLSError(Exception):
    """Base class of every error nativetls raises for a TLS-level problem.

    Attributes:
        native_code: the backend's own error code (an int), or None.
        native_message: the backend's own wording of the error (for OpenSSL, the drained error queue), or None.
    """

    native_code = None
    native_message = None

    def __init__(self, message="", native_code=None, native_message=None):
        # Exception.__init__ and no instance attributes for the usual None: WantReadError is raised once per
        # round trip of every sans-IO loop, so its construction is on the hot path.
        Exception.__init__(self, message)
        if native_code is not None:
            self.native_code = native_code
        if native_message is not None:
            self.native_message = native_message


class WantReadError(TLSError):
    """The operation needs more bytes from the network: feed ``process_incoming()`` and call it again."""


class WantWriteError(TLSError):
    """The operation needs the outgoing buffer drained first: send ``process_outgoing()`` and retry with the same data."""


class RaggedEOF(TLSError):
    """The transport ended without the peer's close_notify alert: the data may have been truncated."""


class ConfigurationError(TLSError):
    """A valid configuration value that this backend cannot honour (raised when a context is created)."""


#: The values of :attr:`CertificateVerificationError.reason`.
VERIFICATION_REASONS = frozenset([
    "expired", "not_yet_valid", "hostname_mismatch", "untrusted_root", "self_signed", "revoked",
    "bad_signature", "weak_key", "invalid_purpose", "other",
])

_REASON_TEXT = {
    "expired": "certificate has expired",
    "not_yet_valid": "certificate is not yet valid",
    "hostname_mismatch": "certificate is not valid for this host name",
    "untrusted_root": "certificate chain does not end in a trusted root",
    "self_signed": "certificate is self-signed and not trusted",
    "revoked": "certificate has been revoked",
    "bad_signature": "certificate signature is invalid or too weak",
    "weak_key": "certificate key is too small",
    "invalid_purpose": "certificate is not allowed for this purpose",
    "other": "certificate verification failed",
}


def verification_message(host, reason, detail=None):
    """Word a verification failure: cause first, then the native detail, then the host."""
    text = _REASON_TEXT.get(reason, _REASON_TEXT["other"])
    if detail:
        text = "%s (%s)" % (text, detail)
    if host:
        text = "%s for host %s" % (text, host)
    return text


class CertificateVerificationError(TLSError):
    """The peer's certificate chain was rejected.

    Attributes:
        host: the name (or IP address) that was checked, or None.
        reason: one of :data:`VERIFICATION_REASONS`.
        native_code / native_message: the backend's code and wording (OpenSSL: ``X509_V_ERR_*``).
    """

    def __init__(self, message=None, host=None, reason="other", native_code=None, native_message=None):
        if reason not in VERIFICATION_REASONS:
            raise ValueError("unknown verification reason %r" % (reason,))
        if message is None:
            message = verification_message(host, reason, native_message)
        super(CertificateVerificationError, self).__init__(message, native_code, native_message)
        self.host = host
        self.reason = reason


class SecurityWarning(UserWarning):
    """Warned when a configuration turns a security check off (for example ``validate_certificates=False``)."""
