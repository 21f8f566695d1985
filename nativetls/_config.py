# -*- coding: utf-8 -*-
"""TLSConfiguration: the immutable, validated description of a TLS endpoint (PEP 543, with PEP 748 spellings).

Everything a user can get wrong by type or value is rejected here, when the configuration is built, so that no
backend ever sees a malformed value. What remains for a backend is to refuse *valid* values it cannot honour
(``ConfigurationError``, when a context is made).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import warnings

from ._compat import int_types, text_type
from ._enums import DEFAULT_CIPHER_LIST, CipherSuite, NextProtocol, TLSVersion, _VERSION_ORDER, cipher_suite_versions
from ._errors import ConfigurationError, SecurityWarning
from ._objects import Certificate, PrivateKey, SigningChain, TrustStore

__all__ = ["TLSConfiguration", "TLSClientConfiguration", "TLSServerConfiguration", "DEFAULT_LOWEST_VERSION",
           "versions_for_ciphers", "is_default_cipher_list"]

#: What ``lowest_supported_version=None`` means on every backend.
DEFAULT_LOWEST_VERSION = TLSVersion.TLSv1_2

_FIELDS = (
    "validate_certificates", "certificate_chain", "ciphers", "inner_protocols", "lowest_supported_version",
    "highest_supported_version", "trust_store", "sni_callback",
)


def _check_version(name, value):
    if value is None or isinstance(value, TLSVersion):
        return value
    if isinstance(value, (str, text_type)):
        try:
            return TLSVersion(value)
        except ValueError:
            raise ValueError("%s: %r is not a TLS version (use a TLSVersion member)" % (name, value))
    raise TypeError("%s must be a TLSVersion, not %s" % (name, type(value).__name__))


def _version_rank(version, default):
    """Order versions; None stands for *default* (a TLSVersion)."""
    if version is None:
        version = default
    if version is TLSVersion.MINIMUM_SUPPORTED:
        return -1
    if version is TLSVersion.MAXIMUM_SUPPORTED:
        return 99
    return _VERSION_ORDER[version]


def _check_ciphers(value):
    if value is None:
        return None
    if isinstance(value, (bytes, str, text_type)) or not hasattr(value, "__iter__"):
        raise TypeError("ciphers must be a sequence of CipherSuite members or ints, not %s" % type(value).__name__)
    result = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int_types):
            raise TypeError("ciphers: %r is not a CipherSuite or an int" % (item,))
        if not 0 <= item <= 0xFFFF:
            raise ValueError("ciphers: %r is not a 16-bit cipher suite value" % (item,))
        try:
            result.append(CipherSuite(item))
        except ValueError:
            result.append(int(item))
    if not result:
        raise ValueError("ciphers must not be empty (use None for the backend's defaults)")
    return tuple(result)


_CONCRETE = sorted(_VERSION_ORDER, key=_VERSION_ORDER.get)


_DEFAULT_CIPHER_VALUES = tuple(int(suite) for suite in DEFAULT_CIPHER_LIST)


def is_default_cipher_list(configuration):
    """Whether ``configuration.ciphers`` is :data:`DEFAULT_CIPHER_LIST` (PEP 748's recommended list).

    A backend takes that list as "the recommended suites this library has": suites it lacks (ChaCha20 on OpenSSL
    1.0.2, any explicit list on SChannel) are left out instead of raising, so a PEP 748 program passing the default
    runs everywhere. Any other list is honoured exactly, and a suite the backend lacks is a ConfigurationError.
    """
    ciphers = configuration.ciphers
    return ciphers is not None and tuple(int(suite) for suite in ciphers) == _DEFAULT_CIPHER_VALUES


def versions_for_ciphers(configuration, low, high, available=None):
    """Narrow a backend's concrete version bounds *low*..*high* to the versions ``configuration.ciphers`` can be used
    in; every backend that accepts ``ciphers`` calls this, so the bounds are never widened and a list that leaves no
    version raises here, when the context is made.

    A list without TLS 1.3 suites turns TLS 1.3 off. When the bounds would otherwise have allowed it (and it is in
    *available*, the backend's versions), a :class:`SecurityWarning` says so, unless ``highest_supported_version``
    was set below TLS 1.3, which says the same on purpose. A list with only TLS 1.3 suites turns TLS 1.2 and below
    off, silently: that list asks for nothing else.

    Returns:
        ``(low, high)``, concrete :class:`TLSVersion` members with ``low <= high``.

    Raises:
        ConfigurationError: no configured suite can be used by any version from *low* to *high*.
    """
    if configuration.ciphers is None:
        return low, high
    in_bounds = [v for v in _CONCRETE if _VERSION_ORDER[low] <= _VERSION_ORDER[v] <= _VERSION_ORDER[high]]
    usable = set()
    for suite in configuration.ciphers:
        first, last = cipher_suite_versions(suite)
        usable.update(v for v in in_bounds if _VERSION_ORDER[first] <= _VERSION_ORDER[v] <= _VERSION_ORDER[last])
    if not usable:
        raise ConfigurationError(
            "none of the configured cipher suites (%s) can be used with %s: they need %s"
            % (", ".join(getattr(s, "name", "0x%04X" % int(s)) for s in configuration.ciphers),
               low.value if low is high else "%s to %s" % (low.value, high.value),
               " or ".join(sorted(set(_range_text(*cipher_suite_versions(s)) for s in configuration.ciphers)))))
    versions = [v for v in in_bounds if v in usable]
    tls13 = TLSVersion.TLSv1_3
    if (tls13 in in_bounds and tls13 not in usable and (available is None or tls13 in available)
            and configuration.highest_supported_version in (None, tls13, TLSVersion.MAXIMUM_SUPPORTED)):
        warnings.warn("nativetls: ciphers names no TLS 1.3 cipher suite, so TLS 1.3 is off for this context; add "
                      "TLS 1.3 suites (nativetls.DEFAULT_CIPHER_LIST starts with them), or set "
                      "highest_supported_version=TLSVersion.TLSv1_2 to say that TLS 1.2 is meant",
                      SecurityWarning, stacklevel=6)
    return versions[0], versions[-1]


def _range_text(first, last):
    return first.value if first is last else "%s to %s" % (first.value, last.value)


def _check_protocols(value):
    if value is None:
        return None
    if isinstance(value, (bytes, str, text_type)) or not hasattr(value, "__iter__"):
        raise TypeError("inner_protocols must be a sequence of NextProtocol or bytes, not %s" % type(value).__name__)
    result = []
    for item in value:
        if isinstance(item, NextProtocol):
            result.append(item)
        elif isinstance(item, bytes) and not isinstance(item, text_type):
            if not 1 <= len(item) <= 255:
                raise ValueError("inner_protocols: %r must be 1 to 255 bytes long" % (item,))
            try:
                result.append(NextProtocol(item))
            except ValueError:
                result.append(bytes(item))
        else:
            raise TypeError("inner_protocols: %r is not a NextProtocol or bytes" % (item,))
    return tuple(result)


def _check_chain(value):
    """Accept a SigningChain, PEP 543's ((Certificate, ...), PrivateKey), or a sequence of SigningChains."""
    if value is None or isinstance(value, SigningChain):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[1], PrivateKey):
        certs = value[0]
        if isinstance(certs, Certificate):
            certs = (certs,)
        certs = tuple(certs)
        if not certs or not all(isinstance(c, Certificate) for c in certs):
            raise TypeError("certificate_chain: the first element must be a non-empty sequence of Certificate")
        return SigningChain(leaf=(certs[0], value[1]), chain=certs[1:])
    if isinstance(value, (tuple, list)) and value and all(isinstance(c, SigningChain) for c in value):
        return tuple(value)
    raise TypeError("certificate_chain must be a SigningChain, a sequence of SigningChain, or "
                    "((Certificate, ...), PrivateKey)")


class TLSConfiguration(object):
    """An immutable TLS configuration, shared by clients and servers.

    Args:
        validate_certificates (bool): verify the peer's certificate chain (clients; default True). Turning it off
            warns with :class:`nativetls.SecurityWarning` when a context is made.
        certificate_chain: our certificate and key: a :class:`SigningChain`, PEP 543's
            ``((Certificate, ...), PrivateKey)`` tuple (leaf first), or, on servers, a sequence of
            ``SigningChain`` from which the one matching the client's SNI name is used (else the first).
        ciphers: sequence of :class:`CipherSuite` members or ints, in preference order; None for the backend's
            recommended suites.
        inner_protocols: ALPN protocols, sequence of :class:`NextProtocol` or bytes, in preference order.
        lowest_supported_version: a :class:`TLSVersion`; None means TLS 1.2.
        highest_supported_version: a :class:`TLSVersion`; None means the best the backend has.
        trust_store: a :class:`TrustStore`. Clients: None means the system trust store. Servers: None means no
            client authentication; a trust store means a client certificate is required and verified against it.
        sni_callback: servers only; ``callback(tls_buffer, server_name, configuration) -> TLSConfiguration``.

    Raises:
        TypeError, ValueError: a field of the wrong type, or a value no backend could accept (for example a
            lowest version above the highest).
    """

    __slots__ = tuple("_" + name for name in _FIELDS) + ("_chains",)

    def __init__(self, validate_certificates=True, certificate_chain=None, ciphers=None, inner_protocols=None,
                 lowest_supported_version=None, highest_supported_version=None, trust_store=None,
                 sni_callback=None):
        if not isinstance(validate_certificates, bool):
            raise TypeError("validate_certificates must be True or False")
        chain = _check_chain(certificate_chain)
        lowest = _check_version("lowest_supported_version", lowest_supported_version)
        highest = _check_version("highest_supported_version", highest_supported_version)
        if _version_rank(lowest, DEFAULT_LOWEST_VERSION) > _version_rank(highest, TLSVersion.MAXIMUM_SUPPORTED):
            raise ValueError("lowest_supported_version (%s) is above highest_supported_version (%s); versions "
                             "below TLS 1.2 need an explicit lowest_supported_version"
                             % ((lowest or DEFAULT_LOWEST_VERSION).value, highest.value))
        if highest is TLSVersion.MINIMUM_SUPPORTED or lowest is TLSVersion.MAXIMUM_SUPPORTED:
            raise ValueError("MINIMUM_SUPPORTED cannot be the highest version, nor MAXIMUM_SUPPORTED the lowest")
        if trust_store is not None and not isinstance(trust_store, TrustStore):
            raise TypeError("trust_store must be a TrustStore or None")
        if sni_callback is not None and not callable(sni_callback):
            raise TypeError("sni_callback must be callable or None")
        values = (validate_certificates, chain, _check_ciphers(ciphers), _check_protocols(inner_protocols),
                  lowest, highest, trust_store, sni_callback)
        for name, value in zip(_FIELDS, values):
            object.__setattr__(self, "_" + name, value)
        if chain is None:
            chains = ()
        elif isinstance(chain, SigningChain):
            chains = (chain,)
        else:
            chains = chain
        object.__setattr__(self, "_chains", chains)

    def __setattr__(self, name, value):
        raise AttributeError("TLSConfiguration is immutable: use update() to make a changed copy")

    def __delattr__(self, name):
        raise AttributeError("TLSConfiguration is immutable: use update() to make a changed copy")

    validate_certificates = property(lambda self: self._validate_certificates,
                                     doc="Whether the peer's certificate chain is verified (clients).")
    certificate_chain = property(lambda self: self._certificate_chain,
                                 doc="Our SigningChain (or, on a server, a tuple of them), or None.")
    ciphers = property(lambda self: self._ciphers, doc="Tuple of CipherSuite/int, or None for the defaults.")
    inner_protocols = property(lambda self: self._inner_protocols,
                               doc="Tuple of NextProtocol/bytes offered or accepted with ALPN, or None.")
    lowest_supported_version = property(lambda self: self._lowest_supported_version,
                                        doc="Lowest TLSVersion allowed, or None (TLS 1.2).")
    highest_supported_version = property(lambda self: self._highest_supported_version,
                                         doc="Highest TLSVersion allowed, or None (the backend's best).")
    trust_store = property(lambda self: self._trust_store, doc="The TrustStore, or None (see the class doc).")
    sni_callback = property(lambda self: self._sni_callback, doc="The server's SNI callback, or None.")

    @property
    def signing_chains(self):
        """All of our signing chains as a tuple (empty when there is none)."""
        return self._chains

    def update(self, **fields):
        """Return a copy with *fields* replaced.

        Raises:
            TypeError: a name that is not a configuration field; TypeError/ValueError as for the constructor.
        """
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise TypeError("unknown configuration field(s): %s" % ", ".join(sorted(unknown)))
        values = dict((name, getattr(self, name)) for name in _FIELDS)
        values.update(fields)
        return type(self)(**values)

    def _key(self):
        # An empty inner_protocols is the same as None (PEP 748's configurations report it as an empty sequence).
        values = [getattr(self, "_" + name) for name in _FIELDS]
        values[_FIELDS.index("inner_protocols")] = self._inner_protocols or None
        return tuple(values)

    def __eq__(self, other):
        if not isinstance(other, TLSConfiguration):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        defaults = _DEFAULTS
        parts = ["%s=%r" % (name, value) for name, value in zip(_FIELDS, self._key()) if value != defaults[name]]
        return "%s(%s)" % (type(self).__name__, ", ".join(parts))


_DEFAULTS = dict((name, None) for name in _FIELDS)
_DEFAULTS["validate_certificates"] = True


class _PEP748Configuration(TLSConfiguration):
    """What PEP 748's two configuration classes share: PEP 748's argument order and an empty-sequence
    ``inner_protocols`` default."""

    __slots__ = ()

    def __init__(self, certificate_chain=None, ciphers=None, inner_protocols=None, lowest_supported_version=None,
                 highest_supported_version=None, trust_store=None, validate_certificates=True, sni_callback=None):
        super(_PEP748Configuration, self).__init__(
            validate_certificates=validate_certificates, certificate_chain=certificate_chain, ciphers=ciphers,
            inner_protocols=inner_protocols, lowest_supported_version=lowest_supported_version,
            highest_supported_version=highest_supported_version, trust_store=trust_store, sni_callback=sni_callback)

    inner_protocols = property(lambda self: self._inner_protocols or (),
                               doc="Tuple of NextProtocol/bytes offered or accepted with ALPN; empty for none "
                                   "(PEP 748).")


class TLSClientConfiguration(_PEP748Configuration):
    """PEP 748's client configuration, accepted wherever a :class:`TLSConfiguration` is.

    The arguments are PEP 748's, in its order (``certificate_chain, ciphers, inner_protocols,
    lowest_supported_version, highest_supported_version, trust_store``), followed by nativetls's
    ``validate_certificates`` and ``sni_callback``; ``inner_protocols`` reads as an empty tuple when none were
    given (equal to None in effect: it compares equal to a configuration made with None).
    """

    __slots__ = ()


class TLSServerConfiguration(_PEP748Configuration):
    """PEP 748's server configuration, accepted wherever a :class:`TLSConfiguration` is (arguments as for
    :class:`TLSClientConfiguration`; ``certificate_chain`` may be a sequence of :class:`SigningChain`)."""

    __slots__ = ()
