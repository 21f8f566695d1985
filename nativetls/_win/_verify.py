# -*- coding: utf-8 -*-
"""Certificate verification done by nativetls itself, with crypt32 (SChannel runs with manual validation).

How a verdict is reached:

1. ``CertGetCertificateChain`` builds a chain from the peer's leaf, with the certificates the peer sent as an
   additional store, through a chain engine: the default one (the system stores) for the system trust store; for a
   custom :class:`TrustStore` an *exclusive-root* engine (``hExclusiveRoot``, Windows 8+) where the system stores
   play no part.
2. Wine 8 rejects the exclusive-root engine (``E_INVALIDARG``). There the custom roots go into the additional store
   instead, the SSL policy is told to allow an unknown CA, and :func:`_anchored` checks that the chain ends in (or
   passes through) one of the custom certificates.
3. The chain's own trust status is judged first (Wine 8's SSL policy accepts a chain that ends in an unknown root;
   only ``TrustStatus`` shows it), then ``CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL)`` with the server
   name checks the name and usage.

Errors are reported in OpenSSL's order (trust, purpose, name, revocation, signature and time), so that both
backends give the same ``reason`` for the same chain.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
from ctypes import byref

from .._errors import CertificateVerificationError, TLSError
from . import _crypt32 as C
from ._lowlevel import CertStore, cert_der, crypt32, store_ders
from ._types import NativeError, hex32, status_name

__all__ = ["verify_peer", "ChainEngine", "EXCLUSIVE_ROOT_SUPPORTED"]

#: None until first tried; then whether this system's crypt32 accepts an exclusive-root chain engine.
EXCLUSIVE_ROOT_SUPPORTED = [None]

_TIME = C.CERT_TRUST_IS_NOT_TIME_VALID
_UNTRUSTED = C.CERT_TRUST_IS_UNTRUSTED_ROOT | C.CERT_TRUST_IS_PARTIAL_CHAIN
_POLICY_REASONS = {
    C.CERT_E_EXPIRED: "expired",
    C.CERT_E_UNTRUSTEDROOT: "untrusted_root",
    C.CERT_E_UNTRUSTEDTESTROOT: "untrusted_root",
    C.CERT_E_CHAINING: "untrusted_root",
    C.CERT_E_CN_NO_MATCH: "hostname_mismatch",
    C.CERT_E_WRONG_USAGE: "invalid_purpose",
    C.CERT_E_PURPOSE: "invalid_purpose",
    C.CERT_E_ROLE: "invalid_purpose",
    C.CRYPT_E_REVOKED: "revoked",
    C.CERT_E_REVOKED: "revoked",
    C.TRUST_E_CERT_SIGNATURE: "bad_signature",
}


class ChainEngine(object):
    """The chain engine for one trust store: None (the default engine) for the system store, else an owned
    HCERTCHAINENGINE with the custom roots exclusive, or - where that is rejected - None plus ``roots``, a store
    to pass as additional certificates. ``custom_ders`` lists the trusted certificates of a custom store."""

    def __init__(self, trust_store):
        self.handle = None
        self.roots = None
        self.custom_ders = None
        if trust_store is None or trust_store.is_system:
            return
        self.custom_ders = [cert.to_der() if hasattr(cert, "to_der") else bytes(cert)
                            for cert in trust_store.certificates]
        self.roots = CertStore.memory(self.custom_ders)
        if EXCLUSIVE_ROOT_SUPPORTED[0] is not False:
            config = C.CERT_CHAIN_ENGINE_CONFIG(cbSize=ctypes.sizeof(C.CERT_CHAIN_ENGINE_CONFIG))
            config.hExclusiveRoot = self.roots.handle
            config.dwExclusiveFlags = C.CERT_CHAIN_EXCLUSIVE_ENABLE_CA_FLAG  # a trusted intermediate may anchor
            engine = ctypes.c_void_p()
            try:
                crypt32().CertCreateCertificateChainEngine(byref(config), byref(engine))
            except NativeError as exc:
                if exc.code not in (C.E_INVALIDARG, 87):  # 87: ERROR_INVALID_PARAMETER
                    raise
                EXCLUSIVE_ROOT_SUPPORTED[0] = False
            else:
                EXCLUSIVE_ROOT_SUPPORTED[0] = True
                self.handle = engine

    @property
    def exclusive(self):
        return self.handle is not None

    def close(self):
        handle, self.handle = self.handle, None
        if handle:
            crypt32().CertFreeCertificateChainEngine(handle)
        if self.roots is not None:
            self.roots.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover
            pass


def _elements(chain):
    """(PCCERT_CONTEXT, CERT_TRUST_STATUS) of the first simple chain, leaf first."""
    simple = chain.contents.rgpChain[0].contents
    return [(simple.rgpElement[i].contents.pCertContext, simple.rgpElement[i].contents.TrustStatus)
            for i in range(simple.cElement)]


def _anchored(chain, custom_ders):
    """Whether the built chain reaches one of the custom trusted certificates (root or intermediate)."""
    custom = set(custom_ders)
    return any(cert_der(pcert) in custom for pcert, _status in _elements(chain))


def _trust_reason(error_status, chain, engine):
    """The first reason in OpenSSL's order from the chain's trust status, or None."""
    elements = _elements(chain)
    untrusted = error_status & _UNTRUSTED
    if engine.custom_ders is not None and not engine.exclusive:
        # Additional-store fallback: the roots are not trusted by crypt32, so judge the anchor ourselves.
        untrusted = 0 if _anchored(chain, engine.custom_ders) else _UNTRUSTED
    if untrusted:
        leaf_status = elements[0][1]
        if len(elements) == 1 and leaf_status.dwInfoStatus & C.CERT_TRUST_IS_SELF_SIGNED:
            return "self_signed"
        return "untrusted_root"
    if error_status & C.CERT_TRUST_IS_NOT_VALID_FOR_USAGE:
        return "invalid_purpose"
    if error_status & C.CERT_TRUST_IS_REVOKED:
        return "revoked"
    if error_status & (C.CERT_TRUST_IS_NOT_SIGNATURE_VALID | C.CERT_TRUST_HAS_WEAK_SIGNATURE):
        return "bad_signature"
    if error_status & _TIME:
        return "time"
    ignorable = (C.CERT_TRUST_REVOCATION_STATUS_UNKNOWN | C.CERT_TRUST_IS_OFFLINE_REVOCATION | _UNTRUSTED)
    if error_status & ~ignorable:
        return "other"
    return None


def _time_reason(chain):
    """expired or not_yet_valid, by comparing the first time-invalid certificate with now (crypt32 does not say)."""
    import datetime
    from asn1crypto import x509 as _x509
    now = datetime.datetime.utcnow()
    for pcert, status in _elements(chain):
        if status.dwErrorStatus & _TIME:
            try:
                cert = _x509.Certificate.load(cert_der(pcert))
                before = cert.not_valid_before.replace(tzinfo=None)
                if before > now:
                    return "not_yet_valid", "notBefore %s" % before.strftime("%Y-%m-%d %H:%M:%S UTC")
                after = cert.not_valid_after.replace(tzinfo=None)
                return "expired", "notAfter %s" % after.strftime("%Y-%m-%d %H:%M:%S UTC")
            except Exception:
                return "expired", None
    return "expired", None


def _has_subject_alt_name(der):
    from asn1crypto import x509 as _x509
    try:
        return _x509.Certificate.load(der).subject_alt_name_value is not None
    except Exception:
        return False


def _ip_matches(der, host):
    """Whether the leaf lists IP address *host* in its subjectAltName (crypt32's SSL policy matches names only
    on Wine 8, so IP addresses are always checked here, the same way everywhere)."""
    import socket
    from asn1crypto import x509 as _x509
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    wanted = socket.inet_pton(family, host)
    try:
        names = _x509.Certificate.load(der).subject_alt_name_value
    except Exception:
        return False
    for name in names or ():
        if name.name == "ip_address":
            try:
                if socket.inet_pton(family, name.native) == wanted:
                    return True
            except (OSError, ValueError):
                continue
    return False


def _is_ip(host):
    import socket
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except (OSError, ValueError):
            pass
    return False


def _policy(chain, host, server, allow_unknown_ca):
    """Run the SSL chain policy; returns the policy's dwError (0: accepted)."""
    name = ctypes.create_unicode_buffer(host) if host else None
    extra = C.HTTPSPolicyCallbackData(cbSize=ctypes.sizeof(C.HTTPSPolicyCallbackData),
                                      dwAuthType=C.AUTHTYPE_SERVER if server else C.AUTHTYPE_CLIENT)
    if name is not None:
        extra.pwszServerName = ctypes.addressof(name)
    else:
        extra.fdwChecks = C.SECURITY_FLAG_IGNORE_CERT_CN_INVALID
    para = C.CERT_CHAIN_POLICY_PARA(cbSize=ctypes.sizeof(C.CERT_CHAIN_POLICY_PARA))
    para.pvExtraPolicyPara = ctypes.addressof(extra)
    if allow_unknown_ca:
        para.dwFlags = C.CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG
    status = C.CERT_CHAIN_POLICY_STATUS(cbSize=ctypes.sizeof(C.CERT_CHAIN_POLICY_STATUS))
    crypt32().CertVerifyCertificateChainPolicy(C.CERT_CHAIN_POLICY_SSL, chain, byref(para), byref(status))
    return ctypes.c_int32(status.dwError).value


def _usage_para(server):
    oid = C.szOID_PKIX_KP_SERVER_AUTH if server else C.szOID_PKIX_KP_CLIENT_AUTH
    oids = (ctypes.c_char_p * 1)(oid)
    para = C.CERT_CHAIN_PARA(cbSize=ctypes.sizeof(C.CERT_CHAIN_PARA))
    para.RequestedUsage.dwType = C.USAGE_MATCH_TYPE_AND
    para.RequestedUsage.Usage.cUsageIdentifier = 1
    para.RequestedUsage.Usage.rgpszUsageIdentifier = oids
    return para, oids


def verify_peer(leaf, peer_store, host, engine, server=True):
    """Verify the peer's leaf (a PCCERT_CONTEXT; *peer_store* the HCERTSTORE with what it sent).

    Args:
        host: the name to check (A-label or IP), or None to skip the name check.
        engine: the :class:`ChainEngine` of the trust store.
        server: True when the peer is a server (serverAuth usage and the server-name policy).

    Raises:
        CertificateVerificationError: with a reason as OpenSSL's backend gives it.
        TLSError: crypt32 could not build a chain at all.
    """
    extra = peer_store
    merged = None
    if engine.custom_ders is not None and not engine.exclusive:
        merged = CertStore.memory(engine.custom_ders)
        if peer_store:
            for der in store_ders(peer_store):
                merged.add_der(der)
        extra = merged.handle
    para, _keep = _usage_para(server)
    chain = ctypes.POINTER(C.CERT_CHAIN_CONTEXT)()
    try:
        crypt32().CertGetCertificateChain(engine.handle, leaf, None, extra, byref(para), 0, None, byref(chain))
    except NativeError as exc:
        if merged is not None:
            merged.close()
        raise TLSError("could not build the certificate chain: %s (%s)" % (exc.name, hex32(exc.code)),
                       native_code=exc.code, native_message=exc.name)
    try:
        _judge(chain, host, engine, server)
    finally:
        crypt32().CertFreeCertificateChain(chain)
        if merged is not None:
            merged.close()


def _fail(host, reason, code, detail=None):
    native = "%s (%s)" % (status_name(code), hex32(code)) if code is not None and code < 0 else (
        "CERT_TRUST_STATUS 0x%08X" % code if code is not None else None)
    message = None
    if detail:
        from .._errors import verification_message
        message = verification_message(host, reason, detail)
    raise CertificateVerificationError(message, host=host, reason=reason, native_code=code, native_message=native)


def _judge(chain, host, engine, server):
    error_status = chain.contents.TrustStatus.dwErrorStatus
    reason = _trust_reason(error_status, chain, engine)
    if reason in ("untrusted_root", "self_signed", "invalid_purpose"):
        _fail(host, reason, error_status)
    allow_unknown = engine.custom_ders is not None and not engine.exclusive
    ip = bool(host) and _is_ip(host)
    leaf = cert_der(_elements(chain)[0][0])
    policy_error = _policy(chain, None if ip else host, server, allow_unknown)
    if policy_error == C.CERT_E_CN_NO_MATCH:
        _fail(host, "hostname_mismatch", policy_error)
    if ip and server and not _ip_matches(leaf, host):
        _fail(host, "hostname_mismatch", C.CERT_E_CN_NO_MATCH, "the address is not in the subjectAltName")
    if host and server and not ip and not _has_subject_alt_name(leaf):
        # crypt32 falls back to the subject CN; nativetls never does (as X509_CHECK_FLAG_NEVER_CHECK_SUBJECT).
        _fail(host, "hostname_mismatch", C.CERT_E_CN_NO_MATCH, "no subjectAltName; the CN is not used")
    if reason == "time":
        time_reason, detail = _time_reason(chain)
        _fail(host, time_reason, error_status, detail)
    if reason is not None:
        _fail(host, reason, error_status)
    if policy_error:
        if policy_error == C.CERT_E_EXPIRED:
            time_reason, detail = _time_reason(chain)
            _fail(host, time_reason, policy_error, detail)
        _fail(host, _POLICY_REASONS.get(policy_error, "other"), policy_error)
