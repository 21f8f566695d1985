"""A small X.509 factory for the test suite, built on ``cryptography``.

It runs on cryptography 3.3.2 (the last release for Python 2.7) and on current
releases, so it passes ``default_backend()`` everywhere (newer releases ignore it)
and gives cryptography only text (``unicode`` on 2.7) names.

Usage::

    f = CertFactory(tmpdir)
    root = f.ca("Test Root")
    inter = f.intermediate(root)
    server = f.leaf(inter, "localhost", ips=["127.0.0.1", "::1"])
    server.cert_path, server.key_path, server.fullchain_path   # PEM files
    server.cert_pem, server.cert_der, server.key_pem           # bytes
    crl = f.crl(inter, revoked=[server])                       # crl.path, crl.pem, crl.der

Key specs: ``"rsa1024"``, ``"rsa2048"`` (default), ``"rsa4096"``, ``"p256"``, ``"p384"``.
Hashes: ``"sha1"``, ``"sha256"`` (default), ``"sha384"``, ``"sha512"``.
Times (``not_before``/``not_after``) are a ``datetime`` (naive means UTC), a
``timedelta`` or a number of days, the last two relative to now.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import datetime
import ipaddress
import os
import re

from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertFactory", "Credential", "CRL", "StandardPKI", "utcnow"]

_BACKEND = default_backend()
_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
_CURVES = {"p256": ec.SECP256R1, "p384": ec.SECP384R1}
_EKUS = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
_PEM = serialization.Encoding.PEM
_DER = serialization.Encoding.DER


class _UTC(datetime.tzinfo):
    """datetime.timezone.utc for Python 2.7."""

    def utcoffset(self, dt):
        return datetime.timedelta(0)

    dst = utcoffset

    def tzname(self, dt):
        return "UTC"


UTC = getattr(datetime, "timezone", None) and datetime.timezone.utc or _UTC()


def utcnow():
    """The current time as an aware UTC datetime, whole seconds (X.509 has no fractions)."""
    return datetime.datetime.now(UTC).replace(microsecond=0)


def _text(value):
    return value.decode("ascii") if isinstance(value, bytes) else value


def _when(value, now):
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, datetime.timedelta):
        value = datetime.timedelta(days=value)
    return now + value


def make_key(spec="rsa2048"):
    """A new private key from a spec such as "rsa2048" or "p256"."""
    if spec.startswith("rsa"):
        return rsa.generate_private_key(65537, int(spec[3:]), _BACKEND)
    if spec in _CURVES:
        return ec.generate_private_key(_CURVES[spec](), _BACKEND)
    raise ValueError("unknown key spec %r" % (spec,))


def _resign_sha1(cert, key):
    """``cert`` signed again by ``key`` with a SHA-1 signature (legacy certificates for rejection tests)."""
    from asn1crypto import algos, core
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.asymmetric import padding

    parsed = ax509.Certificate.load(cert.public_bytes(_DER))
    if isinstance(key, rsa.RSAPrivateKey):
        alg = {"algorithm": "sha1_rsa", "parameters": core.Null()}
    else:
        alg = {"algorithm": "sha1_ecdsa"}
    tbs = parsed["tbs_certificate"]
    tbs["signature"] = algos.SignedDigestAlgorithm(alg)
    parsed["signature_algorithm"] = algos.SignedDigestAlgorithm(alg)
    data = tbs.dump()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA1())
    else:
        signature = key.sign(data, ec.ECDSA(hashes.SHA1()))
    parsed["signature_value"] = signature
    return x509.load_der_x509_certificate(parsed.dump(), _BACKEND)


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


class Credential(object):
    """A certificate with its private key, issuer chain and PEM files on disk.

    Attributes: ``name``, ``cert`` (``x509.Certificate``), ``key`` (private key object),
    ``issuer`` (the issuing Credential, None when self-signed), ``cert_pem``, ``cert_der``,
    ``key_pem`` (unencrypted PKCS#8), ``key_der``, ``chain_pem`` (intermediates only,
    nearest first, no root), ``fullchain_pem`` (leaf + intermediates), and paths
    ``cert_path``, ``key_path``, ``chain_path``, ``fullchain_path``, ``cert_der_path``.
    """

    def __init__(self, directory, name, cert, key, issuer):
        self.name, self.cert, self.key, self.issuer = name, cert, key, issuer
        self.cert_pem = cert.public_bytes(_PEM)
        self.cert_der = cert.public_bytes(_DER)
        self.key_pem = self.private_bytes(_PEM)
        self.key_der = self.private_bytes(_DER)
        self.chain_pem = b"".join(c.cert_pem for c in self.intermediates)
        self.fullchain_pem = self.cert_pem + self.chain_pem
        base = os.path.join(directory, name)
        self._base = base
        self.cert_path = _write(base + ".crt.pem", self.cert_pem)
        self.cert_der_path = _write(base + ".crt.der", self.cert_der)
        self.key_path = _write(base + ".key.pem", self.key_pem)
        self.chain_path = _write(base + ".chain.pem", self.chain_pem)
        self.fullchain_path = _write(base + ".fullchain.pem", self.fullchain_pem)

    def __repr__(self):
        return "<Credential %s>" % self.name

    @property
    def is_ca(self):
        bc = self.cert.extensions.get_extension_for_class(x509.BasicConstraints)
        return bc.value.ca

    @property
    def root(self):
        """The self-signed Credential at the top of this one's chain (may be self)."""
        cred = self
        while cred.issuer is not None:
            cred = cred.issuer
        return cred

    @property
    def intermediates(self):
        """The issuing CAs between this certificate and its root, nearest first."""
        out, cred = [], self.issuer
        while cred is not None and cred.issuer is not None:
            out.append(cred)
            cred = cred.issuer
        return out

    @property
    def serial(self):
        return self.cert.serial_number

    def private_bytes(self, encoding=_PEM, password=None, traditional=False):
        """The key serialized: PKCS#8 (or "traditional" PKCS#1/SEC1), encrypted when a password is given."""
        fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
        if password is None:
            enc = serialization.NoEncryption()
        else:
            enc = serialization.BestAvailableEncryption(password.encode("utf-8") if not isinstance(password, bytes) else password)
        return self.key.private_bytes(encoding, fmt, enc)

    def encrypted_key_path(self, password=b"nativetls", traditional=False):
        """Writes the key as password-protected PEM (PKCS#8 AES-256, or traditional "Proc-Type: 4,ENCRYPTED")."""
        suffix = ".key.enc-trad.pem" if traditional else ".key.enc.pem"
        return _write(self._base + suffix, self.private_bytes(_PEM, password, traditional))


class CRL(object):
    """A certificate revocation list: ``crl`` (``x509.CertificateRevocationList``), ``pem``, ``der``, ``path`` (PEM), ``der_path``."""

    def __init__(self, directory, name, crl):
        self.name, self.crl = name, crl
        self.pem, self.der = crl.public_bytes(_PEM), crl.public_bytes(_DER)
        self.path = _write(os.path.join(directory, name + ".crl.pem"), self.pem)
        self.der_path = _write(os.path.join(directory, name + ".crl.der"), self.der)


class CertFactory(object):
    """Makes CAs, leaves and CRLs, writing their files into ``directory``."""

    def __init__(self, directory):
        self.directory = str(directory)
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory)
        self._names = set()

    def _unique(self, name):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "cert"
        candidate, n = stem, 1
        while candidate in self._names:
            n += 1
            candidate = "%s-%d" % (stem, n)
        self._names.add(candidate)
        return candidate

    def _build(self, subject, issuer, key, extensions, hash, not_before, not_after, name):
        now = utcnow()
        not_before = _when(-1 if not_before is None else not_before, now)
        not_after = _when(365 if not_after is None else not_after, now)
        public = key.public_key()
        signer_key = key if issuer is None else issuer.key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if issuer is None else issuer.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if issuer is not None:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())
            builder = builder.add_extension(aki, critical=False)
        for ext, critical in extensions:
            builder = builder.add_extension(ext, critical=critical)
        if hash == "sha1":
            # Current cryptography refuses to sign with SHA-1: sign, then re-sign by hand.
            cert = _resign_sha1(builder.sign(signer_key, hashes.SHA256(), _BACKEND), signer_key)
        else:
            cert = builder.sign(signer_key, _HASHES[hash](), _BACKEND)
        return Credential(self.directory, self._unique(name), cert, key, issuer)

    @staticmethod
    def _name(common_name, organization="nativetls tests"):
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, _text(organization))]
        if common_name is not None:
            attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, _text(common_name)))
        return x509.Name(attrs)

    @staticmethod
    def _key_usage(ca, digital_signature=True, key_encipherment=False):
        return x509.KeyUsage(
            digital_signature=digital_signature, content_commitment=False, key_encipherment=key_encipherment,
            data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
            encipher_only=False, decipher_only=False,
        )

    def ca(self, common_name="nativetls Test Root CA", issuer=None, key="rsa2048", hash="sha256",
           not_before=-365, not_after=3650, path_length=None, name=None):
        """A CA certificate: a self-signed root, or an intermediate when ``issuer`` is given.

        Extensions as real CAs carry them: critical basicConstraints CA:TRUE (with
        ``path_length``), critical keyUsage keyCertSign+cRLSign+digitalSignature, SKI, and
        AKI for an intermediate.
        """
        exts = [
            (x509.BasicConstraints(ca=True, path_length=path_length), True),
            (self._key_usage(ca=True), True),
        ]
        return self._build(self._name(common_name), issuer, make_key(key), exts, hash, not_before,
                           not_after, name or common_name)

    def intermediate(self, issuer, common_name="nativetls Test Intermediate CA", path_length=0, **kwargs):
        """An intermediate CA signed by ``issuer`` (pathlen 0 by default: it may sign only leaves)."""
        return self.ca(common_name, issuer=issuer, path_length=path_length, **kwargs)

    def leaf(self, issuer, common_name="localhost", dns=None, ips=(), san=True, eku=("server",),
             key="rsa2048", hash="sha256", not_before=None, not_after=None, name=None):
        """An end-entity certificate.

        ``issuer``: a CA Credential, or None for a self-signed leaf (still CA:FALSE).
        ``dns``: DNS names for the SAN (IDNs as A-labels, "xn--..."); default ``[common_name]``.
        ``ips``: IP address strings for the SAN. ``san=False`` leaves the SAN extension out
        (the name is then only in the CN). ``common_name=None`` makes a subject without CN
        (the SAN is then critical, as RFC 5280 requires). ``eku``: any of "server", "client"
        (empty: no EKU extension).
        """
        private = make_key(key)
        exts = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (self._key_usage(ca=False, key_encipherment=isinstance(private, rsa.RSAPrivateKey)), True),
        ]
        if eku:
            exts.append((x509.ExtendedKeyUsage([_EKUS[e] for e in eku]), False))
        if dns is None:
            dns = [common_name] if common_name else []
        names = [x509.DNSName(_text(d)) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(_text(i))) for i in ips]
        if san and names:
            exts.append((x509.SubjectAlternativeName(names), common_name is None))
        return self._build(self._name(common_name), issuer, private, exts, hash, not_before, not_after,
                           name or common_name or (dns and dns[0]) or "leaf")

    def crl(self, issuer, revoked=(), last_update=-1, next_update=7, hash="sha256", name=None):
        """A CRL issued by the CA ``issuer`` that lists ``revoked`` (Credentials or serial numbers)."""
        now = utcnow()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.cert.subject)
            .last_update(_when(last_update, now))
            .next_update(_when(next_update, now))
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
        )
        for item in revoked:
            serial = item.serial if isinstance(item, Credential) else item
            entry = (x509.RevokedCertificateBuilder().serial_number(serial)
                     .revocation_date(_when(-1, now)).build(_BACKEND))
            builder = builder.add_revoked_certificate(entry)
        crl = builder.sign(issuer.key, _HASHES[hash](), _BACKEND)
        return CRL(self.directory, self._unique(name or issuer.name), crl)

    def bundle(self, name, items):
        """Writes the PEM of several Credentials and CRLs into one file and returns its path."""
        data = b"".join(getattr(i, "cert_pem", None) or i.pem for i in items)
        return _write(os.path.join(self.directory, self._unique(name) + ".pem"), data)


class StandardPKI(object):
    """The suite's standard certificates (see conftest's ``pki`` fixture).

    ``ca`` (root) -> ``intermediate`` -> leaves ``server`` (localhost, 127.0.0.1, ::1),
    ``client`` (clientAuth), ``expired``, ``not_yet_valid``, ``wrong_host`` (wrong.example),
    ``cn_only`` (CN=localhost, no SAN), ``ip_only`` (SAN 127.0.0.1 and ::1 only), ``revoked``
    (listed in ``crl``); ``self_signed`` (localhost leaf, its own issuer); ``untrusted_ca``,
    a different root, and ``untrusted``, a localhost leaf it signed. ``crl`` is the
    intermediate's CRL revoking ``revoked``, ``root_crl`` the root's empty one and
    ``crls_path`` a PEM file with both. ``pki["server"]`` works too.
    """

    NAMES = ("ca", "intermediate", "server", "client", "expired", "not_yet_valid", "wrong_host", "cn_only",
             "ip_only", "revoked", "self_signed", "untrusted_ca", "untrusted")

    def __init__(self, directory):
        f = self.factory = CertFactory(directory)
        self.ca = f.ca("nativetls Test Root CA", name="ca")
        self.intermediate = f.intermediate(self.ca, name="intermediate")
        localhost = dict(dns=["localhost"], ips=["127.0.0.1", "::1"])
        self.server = f.leaf(self.intermediate, "localhost", name="server", **localhost)
        self.client = f.leaf(self.intermediate, "nativetls test client", dns=["client.example"],
                             eku=("client",), name="client")
        self.expired = f.leaf(self.intermediate, "localhost", not_before=-30, not_after=-1, name="expired",
                              **localhost)
        self.not_yet_valid = f.leaf(self.intermediate, "localhost", not_before=30, not_after=60,
                                    name="not_yet_valid", **localhost)
        self.wrong_host = f.leaf(self.intermediate, "wrong.example", name="wrong_host")
        self.cn_only = f.leaf(self.intermediate, "localhost", san=False, name="cn_only")
        self.ip_only = f.leaf(self.intermediate, "127.0.0.1", dns=[], ips=["127.0.0.1", "::1"], name="ip_only")
        self.revoked = f.leaf(self.intermediate, "localhost", name="revoked", **localhost)
        self.self_signed = f.leaf(None, "localhost", name="self_signed", **localhost)
        self.untrusted_ca = f.ca("nativetls Untrusted Root CA", name="untrusted_ca")
        self.untrusted = f.leaf(self.untrusted_ca, "localhost", name="untrusted", **localhost)
        self.crl = f.crl(self.intermediate, revoked=[self.revoked], name="intermediate")
        self.root_crl = f.crl(self.ca, name="ca")
        self.crls_path = f.bundle("crls", [self.root_crl, self.crl])

    def __getitem__(self, name):
        if name not in self.NAMES and name not in ("crl", "root_crl"):
            raise KeyError(name)
        return getattr(self, name)
