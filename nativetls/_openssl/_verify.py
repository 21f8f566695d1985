# -*- coding: utf-8 -*-
"""Turning OpenSSL's verification result into CertificateVerificationError with a reason and a useful message."""
from __future__ import absolute_import, division, print_function, unicode_literals

import datetime

from asn1crypto import x509 as _x509

from .._abc import normalize_server_hostname
from .._errors import CertificateVerificationError, verification_message
from . import _libssl as L
from ._lowlevel import VERSION, lib

__all__ = ["verification_error", "reason_for", "weak_certificate", "policy_error"]

_REASONS = {
    L.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: "untrusted_root",
    L.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted_root",
    L.X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted_root",
    L.X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: "untrusted_root",
    L.X509_V_ERR_CERT_UNTRUSTED: "untrusted_root",
    L.X509_V_ERR_CERT_REJECTED: "untrusted_root",
    L.X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: "self_signed",
    L.X509_V_ERR_CERT_HAS_EXPIRED: "expired",
    L.X509_V_ERR_CERT_NOT_YET_VALID: "not_yet_valid",
    L.X509_V_ERR_CERT_REVOKED: "revoked",
    L.X509_V_ERR_HOSTNAME_MISMATCH: "hostname_mismatch",
    L.X509_V_ERR_IP_ADDRESS_MISMATCH: "hostname_mismatch",
    L.X509_V_ERR_EMAIL_MISMATCH: "hostname_mismatch",
    L.X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: "bad_signature",
    L.X509_V_ERR_CERT_SIGNATURE_FAILURE: "bad_signature",
    L.X509_V_ERR_CA_MD_TOO_WEAK: "bad_signature",
    L.X509_V_ERR_EE_KEY_TOO_SMALL: "weak_key",
    L.X509_V_ERR_CA_KEY_TOO_SMALL: "weak_key",
    L.X509_V_ERR_INVALID_PURPOSE: "invalid_purpose",
}
if VERSION >= 0x30000000:
    # x509_vfy.h 3.0: UNSUPPORTED_SIGNATURE_ALGORITHM 76, SIGNATURE_ALGORITHM_MISMATCH 77.
    _REASONS.update({76: "bad_signature", 77: "bad_signature"})

_EXPIRY_REASONS = ("expired", "not_yet_valid")


def reason_for(code):
    """The public reason for an ``X509_V_ERR_*`` code."""
    return _REASONS.get(code, "other")


def _code_name(code):
    text = lib.X509_verify_cert_error_string(code)
    return text.decode("ascii", "replace") if text else "X509_V_ERR %d" % code


def _validity_detail(chain_der, reason):
    """Name the certificate whose validity period is wrong, and its date (best effort)."""
    now = datetime.datetime.now(datetime.timezone.utc) if hasattr(datetime, "timezone") else None
    for der in chain_der or ():
        try:
            cert = _x509.Certificate.load(der)
            before, after = cert.not_valid_before, cert.not_valid_after
            if now is None:  # Python 2.7: asn1crypto gives aware datetimes; compare naive UTC
                before, after = before.replace(tzinfo=None), after.replace(tzinfo=None)
                current = datetime.datetime.utcnow()
            else:
                current = now
            if reason == "expired" and after < current:
                return "notAfter %s, subject %s" % (after.strftime("%Y-%m-%d %H:%M:%S UTC"),
                                                     cert.subject.human_friendly)
            if reason == "not_yet_valid" and before > current:
                return "notBefore %s, subject %s" % (before.strftime("%Y-%m-%d %H:%M:%S UTC"),
                                                      cert.subject.human_friendly)
        except Exception:
            continue
    return None


def _lone_self_signed(chain_der):
    """The peer sent one certificate, and it is self-signed."""
    if not chain_der or len(chain_der) != 1:
        return False
    try:
        return _x509.Certificate.load(chain_der[0]).self_signed in ("yes", "maybe")
    except Exception:
        return False


def verification_error(code, host, chain_der, peer="server"):
    """Build the CertificateVerificationError for verify result *code* (chain_der: the peer's chain, DER)."""
    reason = reason_for(code)
    if VERSION < 0x10100000 and code == L.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY and \
            _lone_self_signed(chain_der):
        # 1.0.2 with X509_V_FLAG_PARTIAL_CHAIN looks the leaf up in the store before it checks for a self-signed
        # leaf, and reports 20 where 1.1.0+ reports DEPTH_ZERO_SELF_SIGNED_CERT: the same verdict, made plain.
        code, reason = L.X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "self_signed"
    native = _code_name(code)
    detail = _validity_detail(chain_der, reason) if reason in _EXPIRY_REASONS else None
    text = "%s: %s" % (native, detail) if detail else native
    message = verification_message(host, reason, text)
    if host is None and peer == "client":
        message += " (client certificate)"
    return CertificateVerificationError(message, host=host, reason=reason, native_code=code, native_message=native)


# --- what libssl checks itself from 1.1.0 (security levels, NEVER_CHECK_SUBJECT), checked here for 1.0.2 ---------
_WEAK_HASHES = frozenset(["md2", "md4", "md5", "sha1"])


def weak_certificate(cert, level, leaf):
    """The ``X509_V_ERR_*`` code security *level* (2: 112-bit) gives *cert* (an ``asn1crypto.x509.Certificate``:
    ``Certificate.asn1``, parsed once), or 0 when it passes.

    OpenSSL 1.1.0+ does this itself; 1.0.2 has no security levels, and 3.5 no longer refuses a SHA-1-signed
    certificate when a server loads it. A self-signed certificate's own signature is not judged (nor is it by
    OpenSSL): it is a trust anchor, or refused anyway.
    """
    if level < 1:
        return 0
    try:
        key = cert.public_key
        if level >= 2 and ((key.algorithm in ("rsa", "dsa") and key.bit_size < 2048) or
                           (key.algorithm == "ec" and key.bit_size < 224)):
            return L.X509_V_ERR_EE_KEY_TOO_SMALL if leaf else L.X509_V_ERR_CA_KEY_TOO_SMALL
        if cert.self_signed == "no" and cert.hash_algo in _WEAK_HASHES:
            return L.X509_V_ERR_CA_MD_TOO_WEAK
    except Exception:  # unparseable here: libssl's own verdict stands
        return 0
    return 0


def _no_dns_name(cert):
    try:
        names = cert.subject_alt_name_value
    except Exception:
        return False
    return not any(name.name == "dns_name" for name in (names or ()))


#: What policy_error applies on 1.0.2, as (cn_fallback, strict): the verify parameters' NEVER_CHECK_SUBJECT (off
#: means the CN may serve) and X509_V_FLAG_X509_STRICT, which 1.0.2's own checks cannot express. A buffer keeps the
#: default; nativetls.contrib relaxes it where ssl's hostname_checks_common_name / verify_flags ask.
STRICT_POLICY = (False, True)


def _empty_san(cert):
    """Whether the certificate (``asn1crypto`` Certificate) has a subjectAltName extension with no names in it
    (X509_STRICT refuses that from 3.0 on; trustme's CN-only certificates are made so)."""
    try:
        for ext in cert["tbs_certificate"]["extensions"] or ():
            if ext["extn_id"].native == "subject_alt_name":
                return len(ext["extn_value"].parsed) == 0
    except Exception:
        return False
    return False


#: Before 3.0, X509_STRICT does not refuse an empty subjectAltName; before 1.1.0 libssl has neither security
#: levels nor NEVER_CHECK_SUBJECT. policy_error() applies what the running libssl lacks, only there.
NEEDS_POLICY_CHECKS = VERSION < 0x30000000
_CHECKS_LEVEL_AND_SUBJECT = VERSION < 0x10100000


def policy_error(store_ctx, level, host, policy=STRICT_POLICY):
    """For the verify callback of a libssl older than 3.0: the error its security level, hostname flags and
    X509_STRICT checks would have found on the certificate being checked (0: none), as 3.0 finds them itself.
    *policy* is ``(cn_fallback, strict)`` (see :data:`STRICT_POLICY`)."""
    from ._lowlevel import x509_to_der
    cert = lib.X509_STORE_CTX_get_current_cert(store_ctx)
    if not cert:
        return 0
    parsed = _x509.Certificate.load(x509_to_der(cert))  # lazy: what is malformed fails in the checks, as 0
    depth = lib.X509_STORE_CTX_get_error_depth(store_ctx)
    cn_fallback, strict = policy
    if _CHECKS_LEVEL_AND_SUBJECT:
        code = weak_certificate(parsed, level, depth == 0)
        if code:
            return code
    if strict and _empty_san(parsed):  # X509_STRICT's empty-SAN refusal is 3.0+
        return L.X509_V_ERR_EMPTY_SUBJECT_ALT_NAME
    # X509_CHECK_FLAG_NEVER_CHECK_SUBJECT is 1.1.0+: 1.0.2 falls back on the CN when there is no DNS name.
    if (_CHECKS_LEVEL_AND_SUBJECT and depth == 0 and not cn_fallback and host
            and not normalize_server_hostname(host)[2] and _no_dns_name(parsed)):  # [2]: is_ip
        return L.X509_V_ERR_HOSTNAME_MISMATCH
    return 0

