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

    Make one with :meth:`from_buffer` or :meth:`from_file`.
    """

    __slots__ = ("_der", "_parsed")

    def __init__(self, der):
        self._der = bytes(der)
        self._parsed = None

    @classmethod
    def from_buffer(cls, data):
        """Load a certificate from PEM or DER bytes (the first certificate, for PEM with several).

        Raises:
            ValueError: *data* holds no parseable certificate. TypeError: *data* is not bytes.
        """
        data = _as_bytes(data, "certificate data")
        return cls(_certificates_from(data, "the buffer")[0])

    @classmethod
    def from_file(cls, path):
        """Load a certificate from a PEM or DER file.

        Raises:
            OSError/IOError: the file cannot be read. ValueError: it holds no parseable certificate.
        """
        return cls(_certificates_from(_read(path), repr(path))[0])

    def to_der(self):
        """The certificate's DER encoding (bytes)."""
        return self._der

    def to_pem(self):
        """The certificate in PEM form (bytes)."""
        return _asn1_pem.armor("CERTIFICATE", self._der)

    @property
    def asn1(self):
        """The certificate parsed by asn1crypto (``asn1crypto.x509.Certificate``)."""
        if self._parsed is None:
            self._parsed = _asn1_x509.Certificate.load(self._der)
        return self._parsed

    @property
    def subject(self):
        """The subject as a readable string, for messages and logs."""
        return self.asn1.subject.human_friendly

    def __eq__(self, other):
        return isinstance(other, Certificate) and other._der == self._der

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._der)

    def __repr__(self):
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


class PrivateKey(object):
    """A private key (RSA or EC; PKCS#1, SEC1 or PKCS#8, optionally encrypted), in PEM form internally.

    The key is decrypted by the backend when a context is made: a wrong password fails then, with
    ``ConfigurationError``.
    """

    __slots__ = ("_pem", "_password", "_pkcs12")

    def __init__(self, pem, password=None):
        self._pem = bytes(pem)
        self._check_password(password)
        self._password = password
        self._pkcs12 = None  # (PFX bytes, password bytes or None) for a key read by SigningChain.from_pkcs12

    @classmethod
    def _from_pkcs12(cls, pem, pfx, password):
        """A key read from a PKCS#12 file: *pem* is its unencrypted PKCS#8 PEM when the backend that read the file
        hands keys out (OpenSSL), or None when the key stays in the native store (SChannel); backends that import
        PKCS#12 natively use the file itself (``_pkcs12``)."""
        key = cls.__new__(cls)
        key._pem = pem
        key._password = None
        key._pkcs12 = (pfx, password)
        return key

    @staticmethod
    def _check_password(password):
        if password is not None and not (callable(password) or isinstance(password, (bytes, text_type))):
            raise TypeError("password must be bytes, str, a callable returning one, or None")

    @classmethod
    def from_buffer(cls, data, password=None):
        """Load a private key from PEM or DER bytes.

        Args:
            password: bytes, str, or a callable returning one, for encrypted keys.

        Raises:
            ValueError: *data* holds no private key. TypeError: wrong argument types.
        """
        return cls._load(_as_bytes(data, "key data"), password, "the buffer")

    @classmethod
    def from_file(cls, path, password=None):
        """Load a private key from a PEM or DER file (see :meth:`from_buffer`)."""
        return cls._load(_read(path), password, repr(path))

    @classmethod
    def _load(cls, data, password, origin):
        cls._check_password(password)
        if _asn1_pem.detect(data):
            blocks = [(label, headers, der) for label, headers, der in _asn1_pem.unarmor(data, multiple=True)
                      if label in _KEY_LABELS]
            if not blocks:
                raise ValueError("%s holds no PEM private key block" % origin)
            label, headers, der = blocks[0]
            if headers:  # traditional OpenSSL encryption (Proc-Type/DEK-Info): keep the block as written
                start = data.index(b"-----BEGIN " + label.encode("ascii"))
                end_marker = b"-----END " + label.encode("ascii") + b"-----"
                return cls(data[start:data.index(end_marker, start) + len(end_marker)] + b"\n", password)
            return cls(_asn1_pem.armor(label, der), password)
        label = _der_key_label(data)
        if label is None:
            raise ValueError("%s is not a private key (PEM or DER, PKCS#1, SEC1 or PKCS#8)" % origin)
        return cls(_asn1_pem.armor(label, data), password)

    @property
    def is_encrypted(self):
        """Whether the key needs a password (False for a key read from PKCS#12: the password came with it)."""
        if self._pem is None:
            return False
        return b"ENCRYPTED" in self._pem.split(b"\n", 2)[0] or b"Proc-Type: 4,ENCRYPTED" in self._pem

    def _password_bytes(self):
        """Resolve the password (calling it if it is a callable) to bytes, or None."""
        password = self._password
        if callable(password):
            password = password()
        if isinstance(password, text_type):
            password = password.encode("utf-8")
        if password is not None and not isinstance(password, bytes):
            raise TypeError("the password callable must return bytes or str")
        return password

    def __repr__(self):
        return "<PrivateKey%s>" % (" (encrypted)" if self.is_encrypted else
                                   " (from PKCS#12)" if self._pkcs12 is not None else "")


class SigningChain(object):
    """A certificate chain with its private key: ``leaf=(Certificate, PrivateKey)``, ``chain`` the intermediates.

    Raises:
        TypeError: the parts are not Certificates and a PrivateKey.
    """

    __slots__ = ("_leaf", "_chain")

    def __init__(self, leaf, chain=()):
        if not (isinstance(leaf, tuple) and len(leaf) == 2 and isinstance(leaf[0], Certificate)
                and isinstance(leaf[1], PrivateKey)):
            raise TypeError("leaf must be a (Certificate, PrivateKey) tuple")
        chain = tuple(chain)
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
        certs = [Certificate(der) for der in ders]
        return cls((certs[0], PrivateKey.from_file(key_path, password)), certs[1:])

    @classmethod
    def from_pkcs12(cls, data_or_path, password=None):
        """Read a PKCS#12 (``.p12``/``.pfx``) file: the key, its certificate (the leaf) and the intermediates.

        The file is decrypted at once, by the running backend's own PKCS#12 parser (OpenSSL's ``PKCS12_parse``,
        SChannel's ``PFXImportCertStore``), so every problem is reported here. The intermediates are put in
        issuing order (leaf's issuer first); any other certificate of the file follows them.

        Args:
            data_or_path: the file's bytes (``bytes``, ``bytearray``, ``memoryview``), or its path (text or
                ``os.PathLike``). On Python 2 a native ``str`` that cannot be DER (it does not begin with ``0x30``,
                or holds a NUL) is a path, as Python 2 spells paths that way.
            password: bytes, str, a callable returning one, or None for a file without a password.

        Raises:
            ValueError: not a PKCS#12 file, wrong password, or no private key (or no certificate for it) inside;
                the message says which.
            ConfigurationError: a valid file this backend cannot decrypt (OpenSSL 3 without its legacy provider,
                for RC2/3DES-encrypted files), or a backend that cannot read PKCS#12.
            OSError/IOError: the path cannot be read. TypeError: wrong argument types.
        """
        data, origin = _pkcs12_input(data_or_path)
        PrivateKey._check_password(password)
        if callable(password):
            password = password()
        if isinstance(password, text_type):
            password = password.encode("utf-8")
        if password is not None and not isinstance(password, bytes):
            raise TypeError("the password callable must return bytes or str")
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
        return cls((Certificate(leaf), key), [Certificate(der) for der in _issuing_order(leaf, others)])

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

    ``TrustStore.system()`` is the operating system's store. A custom store replaces it entirely.
    """

    __slots__ = ("_certs", "_crls", "_origin")

    def __init__(self, certificates=None, crls=(), origin="system"):
        self._certs = None if certificates is None else tuple(certificates)
        self._crls = tuple(crls)
        self._origin = origin

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
        data = _as_bytes(data, "trust store data")
        return cls([Certificate(d) for d in _certificates_from(data, "the buffer")], origin="buffer")

    @classmethod
    def from_file(cls, path):
        """Trust the certificates in a PEM (any number) or DER (one) file."""
        return cls([Certificate(d) for d in _certificates_from(_read(path), repr(path))], origin=str(path))

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
        return TrustStore(self._certs, self._crls + ders, self._origin)

    @property
    def is_system(self):
        """True for the operating system's store."""
        return self._certs is None

    @property
    def certificates(self):
        """The trusted certificates (a tuple), or None for the system store."""
        return self._certs

    @property
    def crls(self):
        """DER bytes of the CRLs to check (a tuple, empty when revocation is not checked)."""
        return self._crls

    def __eq__(self, other):
        return isinstance(other, TrustStore) and (other._certs, other._crls) == (self._certs, self._crls)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self._certs, self._crls))

    def __repr__(self):
        if self._certs is None:
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
