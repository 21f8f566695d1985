# -*- coding: utf-8 -*-
"""Backend-neutral value objects: Certificate, PrivateKey, SigningChain, TrustStore, TLSSession.

They hold bytes, checked with asn1crypto when they are made, so that a bad file fails where it is read, with its
name in the message, and not deep inside a handshake. Backends turn them into native objects when a context is
made.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import importlib
import io
import os

from asn1crypto import crl as _asn1_crl
from asn1crypto import keys as _asn1_keys
from asn1crypto import pem as _asn1_pem
from asn1crypto import x509 as _asn1_x509

from ._compat import bytes_types, text_type

__all__ = ["Certificate", "PrivateKey", "SigningChain", "TrustStore", "TLSSession"]


def _read(path):
    with io.open(path, "rb") as handle:
        return handle.read()


def _as_bytes(data, what):
    if isinstance(data, text_type):
        data = data.encode("ascii")
    if not isinstance(data, bytes_types):
        raise TypeError("%s must be bytes, not %s" % (what, type(data).__name__))
    return bytes(data)


def _one_source(what, buffer, path, id):
    """Check that exactly one of PEP 748's ``buffer=``, ``path=``, ``id=`` was given; returns its name."""
    given = [name for name, value in (("buffer", buffer), ("path", path), ("id", id)) if value is not None]
    if len(given) != 1:
        raise ValueError("%s takes exactly one of buffer=, path= or id= (got %s)"
                         % (what, ", ".join(given) if given else "none"))
    return given[0]


def _identity_error(what, identity):
    """The ConfigurationError for an object made with ``from_id``: no backend here has an identity-based store."""
    from ._errors import ConfigurationError
    return ConfigurationError("%s %r names an identity in a system store (from_id), and nativetls's backends have no "
                              "identity-based store: load it from a buffer or a file" % (what, identity))


def _pem_blocks(data, labels):
    """Yield the DER of each PEM block of *data* whose label is in *labels* (other blocks are skipped)."""
    for label, _headers, der in _asn1_pem.unarmor(data, multiple=True):
        if label in labels:
            yield der


def _parse_certificate(der, origin):
    try:
        cert = _asn1_x509.Certificate.load(der, strict=True)
        cert["tbs_certificate"]["subject"].native  # forces a full parse of the parts we rely on
        return cert
    except Exception as exc:  # asn1crypto raises ValueError/TypeError for malformed input
        raise ValueError("%s is not an X.509 certificate: %s" % (origin, exc))


def _certificates_from(data, origin):
    """All certificates in PEM (any number of blocks) or DER (one) *data*, as DER bytes."""
    if _asn1_pem.detect(data):
        ders = list(_pem_blocks(data, ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE")))
        if not ders:
            raise ValueError("%s holds no PEM CERTIFICATE block" % origin)
    else:
        ders = [data]
    for der in ders:
        _parse_certificate(der, origin)
    return ders


class Certificate(object):
    """An X.509 certificate (immutable; compares by its DER encoding).

    ``Certificate(buffer=...)``, ``Certificate(path=...)`` or ``Certificate(id=...)`` (PEP 748; exactly one), or
    :meth:`from_buffer`, :meth:`from_file`, :meth:`from_id`. The certificate is parsed at once. When the PEM data
    also holds a private key (one file with both), the key and the certificates after the first are kept with
    the certificate, for a :class:`SigningChain` whose leaf key is None.

    Raises:
        ValueError: not exactly one source, or it holds no parseable certificate. TypeError: *buffer* is not
            bytes. OSError/IOError: *path* cannot be read.
    """

    __slots__ = ("_der", "_parsed", "_id", "_key")

    def __init__(self, buffer=None, path=None, id=None):
        source = _one_source("Certificate", buffer, path, id)
        self._parsed = self._id = self._key = None
        if source == "id":
            self._der = None
            self._id = id
            return
        if source == "buffer":
            data, origin = _as_bytes(buffer, "certificate data"), "the buffer"
        else:
            data, origin = _read(path), repr(path)
        ders = _certificates_from(data, origin)
        self._der = ders[0]
        key = _bundled_key(data, origin)
        # (key, the certificates after the first): what a SigningChain whose leaf key is None takes from this file.
        self._key = None if key is None else (key, tuple(ders[1:]))

    @classmethod
    def _from_der(cls, der):
        """A Certificate from DER bytes already checked by :func:`_certificates_from` (no second parse)."""
        self = cls.__new__(cls)
        self._der = bytes(der)
        self._parsed = self._id = self._key = None
        return self

    @classmethod
    def from_buffer(cls, data):
        """Load a certificate from PEM or DER bytes (the first certificate, for PEM with several).

        Raises:
            ValueError: *data* holds no parseable certificate. TypeError: *data* is not bytes.
        """
        return cls(buffer=data)

    @classmethod
    def from_file(cls, path):
        """Load a certificate from a PEM or DER file.

        Raises:
            OSError/IOError: the file cannot be read. ValueError: it holds no parseable certificate.
        """
        return cls(path=path)

    @classmethod
    def from_id(cls, id):
        """PEP 748: a certificate named by an identifier in a system store. nativetls's backends have no
        identity-based store, so using it (making a context, ``validate_config``, ``to_der``) raises
        :class:`ConfigurationError`; build the certificate from a buffer or a file instead."""
        return cls(id=id)

    def to_der(self):
        """The certificate's DER encoding (bytes).

        Raises:
            ConfigurationError: the certificate was made with :meth:`from_id`.
        """
        if self._der is None:
            raise _identity_error("certificate", self._id)
        return self._der

    def to_pem(self):
        """The certificate in PEM form (bytes)."""
        return _asn1_pem.armor("CERTIFICATE", self._der)

    @property
    def asn1(self):
        """The certificate parsed by asn1crypto (``asn1crypto.x509.Certificate``)."""
        if self._parsed is None:
            self._parsed = _asn1_x509.Certificate.load(self.to_der())
        return self._parsed

    @property
    def subject(self):
        """The subject as a readable string, for messages and logs."""
        return self.asn1.subject.human_friendly

    def __eq__(self, other):
        return isinstance(other, Certificate) and (other._der, other._id) == (self._der, self._id)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self._der, self._id))

    def __repr__(self):
        if self._der is None:
            return "<Certificate id=%r>" % (self._id,)
        return "<Certificate %s>" % self.subject


_KEY_LABELS = ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY")


def _der_key_label(der):
    """The PEM label that fits a DER private key, found by parsing it; None if it is no key we know."""
    for label, spec in (("PRIVATE KEY", _asn1_keys.PrivateKeyInfo),
                        ("ENCRYPTED PRIVATE KEY", _asn1_keys.EncryptedPrivateKeyInfo),
                        ("RSA PRIVATE KEY", _asn1_keys.RSAPrivateKey),
                        ("EC PRIVATE KEY", _asn1_keys.ECPrivateKey)):
        try:
            parsed = spec.load(der, strict=True)
            parsed.native
            return label
        except Exception:
            continue
    return None


def _bundled_key(data, origin):
    """The PrivateKey in PEM *data* that also holds certificates, or None (no key block, or DER data)."""
    if not _asn1_pem.detect(data) or b"PRIVATE KEY-----" not in data:
        return None
    try:
        return PrivateKey._make(PrivateKey._pem_of(data, origin), None)
    except ValueError:
        return None


class PrivateKey(object):
    """A private key (RSA or EC; PKCS#1, SEC1 or PKCS#8, optionally encrypted), in PEM form internally.

    ``PrivateKey(buffer=...)``, ``PrivateKey(path=...)`` or ``PrivateKey(id=...)`` (PEP 748; exactly one, plus an
    optional *password*), or :meth:`from_buffer`, :meth:`from_file`, :meth:`from_id`. The key is decrypted by the
    backend when a context is made: a wrong password fails then, with ``ConfigurationError``.

    Raises:
        ValueError: not exactly one source, or it holds no private key. TypeError: wrong argument types.
    """

    __slots__ = ("_pem_data", "_password", "_id", "_pkcs12")

    def __init__(self, buffer=None, path=None, id=None, password=None):
        source = _one_source("PrivateKey", buffer, path, id)
        self._check_password(password)
        self._id = None
        self._pkcs12 = None  # (PFX bytes, password bytes or None) for a key read by SigningChain.from_pkcs12
        if source == "id":
            self._pem_data, self._password, self._id = None, None, id
            return
        if source == "buffer":
            data, origin = _as_bytes(buffer, "key data"), "the buffer"
        else:
            data, origin = _read(path), repr(path)
        self._pem_data = self._pem_of(data, origin)
        self._password = password

    @classmethod
    def _from_pkcs12(cls, pem, pfx, password):
        """A key read from a PKCS#12 file: *pem* is its unencrypted PKCS#8 PEM when the backend that read the file
        hands keys out (OpenSSL), or None when the key stays in the native store (SChannel); backends that import
        PKCS#12 natively use the file itself (``_pkcs12``)."""
        key = cls.__new__(cls)
        key._pem_data, key._password, key._id = pem, None, None
        key._pkcs12 = (pfx, password)
        return key

    @classmethod
    def _make(cls, pem, password):
        """A PrivateKey from PEM bytes :meth:`_pem_of` produced (no second parse)."""
        self = cls.__new__(cls)
        self._pem_data, self._password, self._id = bytes(pem), password, None
        self._pkcs12 = None
        return self

    @property
    def _pem(self):
        """The key in PEM form, for the backends (ConfigurationError for a key made with :meth:`from_id`); None for a
        key read from PKCS#12 by a backend that keeps it in its native store (see ``_pkcs12``)."""
        if self._pem_data is None and self._id is not None:
            raise _identity_error("private key", self._id)
        return self._pem_data

    @staticmethod
    def _check_password(password):
        if password is not None and not (callable(password) or isinstance(password, (bytes, text_type))):
            raise TypeError("password must be bytes, str, a callable returning one, or None")

    @staticmethod
    def _resolve_password(password):
        """A password :meth:`_check_password` accepted, as bytes or None (a callable is called now).

        Raises:
            TypeError: the callable returned something else than bytes or str.
        """
        if callable(password):
            password = password()
        if isinstance(password, text_type):
            password = password.encode("utf-8")
        if password is not None and not isinstance(password, bytes):
            raise TypeError("the password callable must return bytes or str")
        return password

    @classmethod
    def from_buffer(cls, data, password=None):
        """Load a private key from PEM or DER bytes.

        Args:
            password: bytes, str, or a callable returning one, for encrypted keys.

        Raises:
            ValueError: *data* holds no private key. TypeError: wrong argument types.
        """
        return cls(buffer=data, password=password)

    @classmethod
    def from_file(cls, path, password=None):
        """Load a private key from a PEM or DER file (see :meth:`from_buffer`)."""
        return cls(path=path, password=password)

    @classmethod
    def from_id(cls, id):
        """PEP 748: a key named by an identifier in a system store. nativetls's backends have no identity-based
        store, so making a context with it (or ``validate_config``) raises :class:`ConfigurationError`."""
        return cls(id=id)

    @staticmethod
    def _pem_of(data, origin):
        """The first private key in PEM or DER *data*, as PEM bytes.

        Raises:
            ValueError: there is none.
        """
        if _asn1_pem.detect(data):
            blocks = [(label, headers, der) for label, headers, der in _asn1_pem.unarmor(data, multiple=True)
                      if label in _KEY_LABELS]
            if not blocks:
                raise ValueError("%s holds no PEM private key block" % origin)
            label, headers, der = blocks[0]
            if headers:  # traditional OpenSSL encryption (Proc-Type/DEK-Info): keep the block as written
                start = data.index(b"-----BEGIN " + label.encode("ascii"))
                end_marker = b"-----END " + label.encode("ascii") + b"-----"
                return data[start:data.index(end_marker, start) + len(end_marker)] + b"\n"
            return _asn1_pem.armor(label, der)
        label = _der_key_label(data)
        if label is None:
            raise ValueError("%s is not a private key (PEM or DER, PKCS#1, SEC1 or PKCS#8)" % origin)
        return _asn1_pem.armor(label, data)

    @property
    def is_encrypted(self):
        """Whether the key needs a password (False for a key made with :meth:`from_id`, or read from PKCS#12:
        the password came with it)."""
        pem = self._pem_data
        if pem is None:
            return False
        return b"ENCRYPTED" in pem.split(b"\n", 2)[0] or b"Proc-Type: 4,ENCRYPTED" in pem

    def _password_bytes(self):
        """Resolve the password (calling it if it is a callable) to bytes, or None."""
        self._pem  # a key made with from_id raises ConfigurationError here
        return self._resolve_password(self._password)

    def __repr__(self):
        if self._id is not None:
            return "<PrivateKey id=%r>" % (self._id,)
        return "<PrivateKey%s>" % (" (encrypted)" if self.is_encrypted else
                                   " (from PKCS#12)" if self._pkcs12 is not None else "")


class SigningChain(object):
    """A certificate chain with its private key: ``leaf=(Certificate, PrivateKey)``, ``chain`` the intermediates.

    *chain* may be omitted or None (no intermediates). As in PEP 748 the leaf's key may be None when the
    certificate was read from PEM data that holds the key too: the key found there is used (``leaf`` returns it),
    and, when *chain* is empty, the certificates that follow the leaf in that data (as ``ssl``'s
    ``load_cert_chain(certfile)`` reads a file with both).

    Raises:
        TypeError: the parts are not Certificates and a PrivateKey (or None). ValueError: the key is None and the
            certificate's data held no private key.
    """

    __slots__ = ("_leaf", "_chain")

    def __init__(self, leaf, chain=None):
        if isinstance(leaf, list):
            leaf = tuple(leaf)
        if not (isinstance(leaf, tuple) and len(leaf) == 2 and isinstance(leaf[0], Certificate)
                and (leaf[1] is None or isinstance(leaf[1], PrivateKey))):
            raise TypeError("leaf must be a (Certificate, PrivateKey) tuple (the key may be None when the "
                            "certificate's file holds it)")
        chain = () if chain is None else tuple(chain)
        if leaf[1] is None and leaf[0]._id is None:
            if leaf[0]._key is None:
                raise ValueError("the leaf's key is None, and the certificate was not read from PEM data that also "
                                 "holds a private key: pass the PrivateKey")
            key, rest = leaf[0]._key
            leaf = (leaf[0], key)
            chain = chain or tuple(Certificate._from_der(der) for der in rest)
        if not all(isinstance(c, Certificate) for c in chain):
            raise TypeError("chain must be a sequence of Certificate")
        self._leaf = leaf
        self._chain = chain

    leaf = property(lambda self: self._leaf, doc="The (Certificate, PrivateKey) pair of the end entity.")
    chain = property(lambda self: self._chain, doc="The intermediate Certificates, leaf's issuer first.")

    @classmethod
    def from_pem_files(cls, chain_path, key_path, password=None):
        """Read a "fullchain" PEM file (leaf, then intermediates) and its key.

        Raises:
            OSError/IOError, ValueError: unreadable or malformed files.
        """
        ders = _certificates_from(_read(chain_path), repr(chain_path))
        certs = [Certificate._from_der(der) for der in ders]
        return cls((certs[0], PrivateKey.from_file(key_path, password)), certs[1:])

    @classmethod
    def from_pkcs12(cls, data_or_path, password=None):
        """Read a PKCS#12 (``.p12``/``.pfx``) file: the key, its certificate (the leaf) and the intermediates.

        The file is decrypted at once, by the running backend's own PKCS#12 parser (OpenSSL's ``PKCS12_parse``,
        SChannel's ``PFXImportCertStore``, SecureTransport's ``SecPKCS12Import``), so every problem is reported
        here. The intermediates are put in issuing order (leaf's issuer first); any other certificate of the file
        follows them.

        Args:
            data_or_path: the file's bytes (``bytes``, ``bytearray``, ``memoryview``), or its path (text or
                ``os.PathLike``). On Python 2 a native ``str`` that cannot be DER (it does not begin with ``0x30``,
                or holds a NUL) is a path, as Python 2 spells paths that way.
            password: bytes, str, a callable returning one, or None for a file without a password.

        Raises:
            ValueError: not a PKCS#12 file, wrong password, or no private key (or no certificate for it) inside;
                the message says which.
            ConfigurationError: a valid file this backend cannot decrypt (OpenSSL 3 without its legacy provider,
                for RC2/3DES-encrypted files; macOS for an intact file whose algorithms SecPKCS12Import does not
                read), or a backend that cannot read PKCS#12.
            OSError/IOError: the path cannot be read. TypeError: wrong argument types.
        """
        data, origin = _pkcs12_input(data_or_path)
        PrivateKey._check_password(password)
        password = PrivateKey._resolve_password(password)
        from ._backend import BACKEND_NAMES, backend
        from ._errors import ConfigurationError
        name = backend().name
        loader = getattr(importlib.import_module(BACKEND_NAMES[name]), "load_pkcs12", None)
        if loader is None:
            raise ConfigurationError("the %s backend cannot read PKCS#12 files yet" % name)
        leaf, others, pem = loader(data, password, origin)
        for der in [leaf] + list(others):
            _parse_certificate(der, origin)
        key = PrivateKey._from_pkcs12(pem, data, password)
        chain = [Certificate._from_der(der) for der in _issuing_order(leaf, others)]
        return cls((Certificate._from_der(leaf), key), chain)

    def __eq__(self, other):
        return (isinstance(other, SigningChain) and other._leaf[0] == self._leaf[0]
                and other._leaf[1] is self._leaf[1] and other._chain == self._chain)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self._leaf[0], id(self._leaf[1]), self._chain))

    def __repr__(self):
        return "<SigningChain %s + %d intermediate(s)>" % (self._leaf[0].subject, len(self._chain))


def _pkcs12_input(data_or_path):
    """(bytes, origin for messages) of ``from_pkcs12``'s argument (see there for bytes versus paths)."""
    if isinstance(data_or_path, (bytearray, memoryview)):
        return bytes(data_or_path), "the PKCS#12 data"
    if isinstance(data_or_path, bytes):
        # Python 2's str is bytes and is what paths are there: one that cannot be DER (which starts with a
        # SEQUENCE tag, 0x30) and has no NUL is a path. On Python 3 bytes are always the file's contents.
        if (str is bytes and data_or_path and not data_or_path.startswith(b"\x30")
                and b"\x00" not in data_or_path):
            return _read(data_or_path), repr(data_or_path)
        return data_or_path, "the PKCS#12 data"
    path = getattr(os, "fspath", lambda p: p)(data_or_path)
    if not isinstance(path, (text_type, bytes)):
        raise TypeError("data_or_path must be bytes or a path, not %s" % type(data_or_path).__name__)
    return _read(path), repr(path)


def _issuing_order(leaf, others):
    """*others* (DERs) reordered: the leaf's issuer, its issuer, and so on; the rest after, in file order.
    (PKCS#12 does not order its certificates, and OpenSSL 1.x's PKCS12_parse returned them reversed.)"""
    parsed = [(der, _asn1_x509.Certificate.load(der)) for der in others]
    ordered, current = [], _asn1_x509.Certificate.load(leaf)
    while current.issuer.dump() != current.subject.dump():
        found = [item for item in parsed if item[1].subject.dump() == current.issuer.dump()
                 and item[0] not in ordered]
        if not found:
            break
        ordered.append(found[0][0])
        current = found[0][1]
    return ordered + [der for der, _cert in parsed if der not in ordered]


def _crls_from(data, origin):
    if _asn1_pem.detect(data):
        ders = list(_pem_blocks(data, ("X509 CRL",)))
    else:
        ders = [data]
    if not ders:
        raise ValueError("%s holds no CRL" % origin)
    for der in ders:
        try:
            _asn1_crl.CertificateList.load(der, strict=True)["tbs_cert_list"].native
        except Exception as exc:
            raise ValueError("%s is not a CRL: %s" % (origin, exc))
    return tuple(ders)


class TrustStore(object):
    """The certificates trusted as roots (anchors) of a peer's chain, and optionally CRLs to check against.

    ``TrustStore.system()`` (or ``TrustStore()``) is the operating system's store. A custom store replaces it
    entirely: ``TrustStore(buffer=...)``, ``TrustStore(path=...)`` (PEP 748; at most one), :meth:`from_buffer`,
    :meth:`from_file`. ``TrustStore(id=...)`` / :meth:`from_id` names a store nativetls's backends cannot open
    (ConfigurationError when used).

    Raises:
        ValueError: more than one source, or no certificate in it. OSError/IOError: *path* cannot be read.
    """

    __slots__ = ("_certs", "_crls", "_origin", "_id")

    def __init__(self, buffer=None, path=None, id=None):
        self._crls = ()
        self._id = None
        if buffer is None and path is None and id is None:
            self._certs, self._origin = None, "system"
            return
        source = _one_source("TrustStore", buffer, path, id)
        if source == "id":
            self._certs, self._origin, self._id = None, "id", id
        elif source == "buffer":
            data = _as_bytes(buffer, "trust store data")
            self._certs = tuple(Certificate._from_der(d) for d in _certificates_from(data, "the buffer"))
            self._origin = "buffer"
        else:
            self._certs = tuple(Certificate._from_der(d) for d in _certificates_from(_read(path), repr(path)))
            self._origin = str(path)

    @classmethod
    def _make(cls, certificates, crls=(), origin="system", id=None):
        """A TrustStore from Certificate objects already made (None: the system store)."""
        self = cls.__new__(cls)
        self._certs = None if certificates is None else tuple(certificates)
        self._crls = tuple(crls)
        self._origin = origin
        self._id = id
        return self

    @classmethod
    def system(cls):
        """The operating system's trust store (Linux: the distribution's CA bundle; see the backend docs)."""
        return cls()

    @classmethod
    def from_buffer(cls, data):
        """Trust the certificates in *data* (PEM with any number of certificates, or one DER certificate).

        Raises:
            ValueError: no certificate in *data*.
        """
        return cls(buffer=data)

    @classmethod
    def from_file(cls, path):
        """Trust the certificates in a PEM (any number) or DER (one) file."""
        return cls(path=path)

    @classmethod
    def from_id(cls, id):
        """PEP 748: a trust store named by an identifier. nativetls's backends have no identity-based store, so
        making a context with it (or ``validate_config``) raises :class:`ConfigurationError`."""
        return cls(id=id)

    from_pem_file = from_file

    def with_crls(self, crls):
        """Return a copy of this store that also checks every certificate of a chain against *crls*.

        Args:
            crls: a path, or PEM/DER bytes of one or more CRLs.

        Raises:
            ValueError: no CRL could be read.
        """
        if isinstance(crls, bytes):
            ders = _crls_from(crls, "the CRL buffer")
        else:
            ders = _crls_from(_read(crls), repr(crls))
        return TrustStore._make(self._certs, self._crls + ders, self._origin, self._id)

    @property
    def is_system(self):
        """True for the operating system's store."""
        return self._certs is None and self._id is None

    @property
    def certificates(self):
        """The trusted certificates (a tuple), or None for the system store.

        Raises:
            ConfigurationError: the store was made with :meth:`from_id`.
        """
        if self._id is not None:
            raise _identity_error("trust store", self._id)
        return self._certs

    @property
    def crls(self):
        """DER bytes of the CRLs to check (a tuple, empty when revocation is not checked)."""
        return self._crls

    def __eq__(self, other):
        return isinstance(other, TrustStore) and ((other._certs, other._crls, other._id)
                                                  == (self._certs, self._crls, self._id))

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self._certs, self._crls, self._id))

    def __repr__(self):
        if self._id is not None:
            what = "id=%r" % (self._id,)
        elif self._certs is None:
            what = "system"
        else:
            what = "%d certificate(s) from %s" % (len(self._certs), self._origin)
        return "<TrustStore %s%s>" % (what, ", %d CRL(s)" % len(self._crls) if self._crls else "")


class TLSSession(object):
    """An opaque handle to a resumable TLS session, from a connection's ``.session``.

    Pass it as ``session=`` when wrapping a new client connection to the same server with the same context's
    backend. Backends subclass it; it holds a native reference that is freed with the object.
    """

    __slots__ = ("__weakref__",)
