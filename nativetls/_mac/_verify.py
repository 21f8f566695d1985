# -*- coding: utf-8 -*-
"""Verifying the peer's chain with SecTrust, done by nativetls itself (private).

SecureTransport's own verification is switched off by the break options (``kSSLSessionOptionBreakOnServerAuth``
sets ``enableCertVerify = !value``, sslContext.c); the handshake stops with ``errSSLPeerAuthCompleted`` and we
verify here, then resume it. What we do, per MACOS.md points 6 and 12:

* the trust comes from ``SSLCopyPeerTrust`` (owned; NULL when the peer sent no certificate);
* the policy is ours: ``SecPolicyCreateSSL(server, name)`` with the host name, or the IP literal - an IP address
  is never given to ``SSLSetPeerDomainName`` (SecureTransport would send it as SNI), but SecPolicyCreateSSL checks
  IP subjectAltNames when the name is an address; a client certificate is checked with ``server=false``;
* a custom trust store sets its certificates as the only anchors (``SecTrustSetAnchorCertificates`` +
  ``SecTrustSetAnchorCertificatesOnly``) - the anchors are ours, never the peer's own chain (truststore once
  trusted any chain that way);
* ``SecTrustEvaluateWithError`` (10.14+), else ``SecTrustEvaluate`` + the result type;
* the CFError's code (``errSec*``) becomes the same ``CertificateVerificationError.reason`` the other backends give.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ctypes import byref, c_uint32, c_void_p

from .._errors import CertificateVerificationError
from . import _security as S
from ._lowlevel import CFRef, cf, certificate_der, cfstring, describe, sec, string_text

__all__ = ["verify_trust", "trust_chain", "REASONS", "ALERTS"]

#: errSec* codes (SecBase.h, SecPolicyChecks.list) -> CertificateVerificationError.reason
REASONS = {
    S.errSecHostNameMismatch: "hostname_mismatch",
    S.errSecCertificateExpired: "expired",
    S.errSecCertificateNotValidYet: "not_yet_valid",
    S.errSecNotTrusted: "untrusted_root",
    S.errSecCreateChainFailed: "untrusted_root",
    S.errSecInvalidExtendedKeyUsage: "invalid_purpose",
    S.errSecInvalidSignature: "bad_signature",
}

#: reason -> the TLS alert we send when rejecting (SecureTransport sends none itself).
ALERTS = {
    "expired": 45, "not_yet_valid": 42, "untrusted_root": 48, "self_signed": 48, "hostname_mismatch": 42,
    "invalid_purpose": 43, "revoked": 44, "bad_signature": 42, "weak_key": 42, "other": 42,
}


def trust_chain(trust):
    """DER bytes of the certificates of *trust* (a CFRef of a SecTrust), leaf first."""
    count = sec().SecTrustGetCertificateCount(trust.value)
    return [certificate_der(sec().SecTrustGetCertificateAtIndex(trust.value, index)) for index in range(count)]


def _self_signed(der):
    try:
        from asn1crypto import x509 as _x509
        return _x509.Certificate.load(der).self_issued
    except Exception:
        return False


def _not_yet_valid(chain):
    """Whether a certificate of *chain* (DER list) has a notBefore in the future."""
    import datetime
    try:
        from asn1crypto import x509 as _x509
        now = datetime.datetime.now(tz=_utc())
        return any(_x509.Certificate.load(der)["tbs_certificate"]["validity"]["not_before"].native > now
                   for der in chain)
    except Exception:
        return False


def _utc():
    from asn1crypto.util import timezone
    return timezone.utc


def verify_trust(trust, host, anchors, server):
    """Evaluate *trust* (a CFRef of the peer's SecTrust) for *host* (a name, an IP literal, or None).

    Args:
        anchors: an owned CFArray of SecCertificates for a custom trust store, or None for the system's.
        server: True when verifying a server's certificate, False for a client certificate.

    Raises:
        CertificateVerificationError: the chain is rejected (reason as on every backend).
    """
    name = cfstring(host) if host else CFRef()
    policy = CFRef(sec().SecPolicyCreateSSL(bool(server), name.value))
    name.close()
    try:
        sec().SecTrustSetPolicies(trust.value, policy.value)
    finally:
        policy.close()
    if anchors is not None:
        sec().SecTrustSetAnchorCertificates(trust.value, anchors.value)
        sec().SecTrustSetAnchorCertificatesOnly(trust.value, True)
    code, message = _evaluate(trust)
    if code is None:
        return
    reason = REASONS.get(code, "other")
    if reason == "expired" and _not_yet_valid(trust_chain(trust)):
        # SecPolicyChecks.list has one TemporalValidity check, reported as errSecCertificateExpired either way.
        reason = "not_yet_valid"
    if reason == "untrusted_root":
        chain = trust_chain(trust)
        if len(chain) == 1 and _self_signed(chain[0]):
            reason = "self_signed"
    raise CertificateVerificationError(host=host, reason=reason, native_code=code,
                                       native_message=message or describe(code))


def _evaluate(trust):
    """(None, None) when trusted, else (errSec code, message)."""
    functions = sec()
    if getattr(functions, "HAS_SecTrustEvaluateWithError", False):
        error = c_void_p()
        trusted = functions.SecTrustEvaluateWithError(trust.value, byref(error))
        error = CFRef(error)
        try:
            if trusted:
                return None, None
            if not error:
                return S.errSecNotTrusted, None
            code = cf().CFErrorGetCode(error.value)
            text = CFRef(cf().CFErrorCopyDescription(error.value))
            try:
                return code, string_text(text)
            finally:
                text.close()
        finally:
            error.close()
    result = c_uint32()  # before 10.14
    status = functions.SecTrustEvaluate(trust.value, byref(result))
    if status != 0:
        return status, None
    if result.value in (S.kSecTrustResultProceed, S.kSecTrustResultUnspecified):
        return None, None
    return S.errSecNotTrusted, "SecTrustEvaluate: result %d" % result.value
