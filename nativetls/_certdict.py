# -*- coding: utf-8 -*-
"""``getpeercert()`` dictionaries, shaped like ``ssl.SSLSocket.getpeercert()``, built with asn1crypto."""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii

from asn1crypto import x509 as _x509

from ._compat import PY2

__all__ = ["certificate_dict"]

# asn1crypto's attribute names -> OpenSSL's long names, which is what ssl reports.
_NAME_TYPES = {
    "common_name": "commonName", "surname": "surname", "serial_number": "serialNumber",
    "country_name": "countryName", "locality_name": "localityName", "state_or_province_name":
    "stateOrProvinceName", "street_address": "streetAddress", "organization_name": "organizationName",
    "organizational_unit_name": "organizationalUnitName", "title": "title", "business_category":
    "businessCategory", "postal_code": "postalCode", "telephone_number": "telephoneNumber", "name": "name",
    "given_name": "givenName", "initials": "initials", "generation_qualifier": "generationQualifier",
    "unique_identifier": "x500UniqueIdentifier", "dn_qualifier": "dnQualifier", "pseudonym": "pseudonym",
    "organization_identifier": "organizationIdentifier", "email_address": "emailAddress",
    "domain_component": "domainComponent", "user_id": "userId",
    "incorporation_locality": "jurisdictionLocalityName",
    "incorporation_state_or_province": "jurisdictionStateOrProvinceName",
    "incorporation_country": "jurisdictionCountryName",
}


def _native(value):
    """The interpreter's ``str`` where the text is ASCII (2.7: bytes-str), else text.

    Python 2.7's ssl module gives ``unicode`` values; the dictionaries compare equal either way.
    """
    if PY2 and isinstance(value, unicode):  # noqa: F821
        try:
            return value.encode("ascii")
        except UnicodeError:
            return value
    return value


def _name(name):
    rdns = []
    for rdn in name.chosen:
        attrs = []
        for attr in rdn:
            key = attr["type"].native
            key = _NAME_TYPES.get(key, key)
            value = attr["value"].native
            if not isinstance(value, (str, type(u""))):
                value = repr(value)
            attrs.append((_native(key), _native(value)))
        rdns.append(tuple(attrs))
    return tuple(rdns)


def _time(value):
    # ssl prints ASN1_TIME as "Mon dd hh:mm:ss yyyy GMT" with the day padded by a space.
    text = value.strftime("%b %d %H:%M:%S %Y GMT")
    if text[4] == "0":
        text = text[:4] + " " + text[5:]
    return _native(text)


def _ip(data):
    if len(data) == 4:
        return ".".join(str(b) for b in bytearray(data))
    groups = [int(binascii.hexlify(data[i:i + 2]), 16) for i in range(0, len(data), 2)]
    return ":".join("%X" % g for g in groups)


def _general_names(names):
    result = []
    for general in names:
        kind = general.name
        if kind == "dns_name":
            result.append(("DNS", general.native))
        elif kind == "ip_address":
            result.append(("IP Address", _ip(general.chosen.contents)))
        elif kind == "rfc822_name":
            result.append(("email", general.native))
        elif kind == "uniform_resource_identifier":
            result.append(("URI", general.native))
        elif kind == "directory_name":
            result.append(("DirName", _name(general.chosen)))
        elif kind == "registered_id":
            result.append(("Registered ID", general.native))
        else:
            result.append(("othername", "<unsupported>"))
    return tuple((_native(k), _native(v) if not isinstance(v, tuple) else v) for k, v in result)


def certificate_dict(der):
    """The ``ssl``-style dictionary for the DER certificate *der*."""
    cert = _x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    serial = "%X" % tbs["serial_number"].native
    if len(serial) % 2:
        serial = "0" + serial
    result = {
        "subject": _name(tbs["subject"]),
        "issuer": _name(tbs["issuer"]),
        "version": tbs["version"].native and int(tbs["version"].native[1:]) or 1,
        "serialNumber": _native(serial),
        "notBefore": _time(cert.not_valid_before),
        "notAfter": _time(cert.not_valid_after),
    }
    san = cert.subject_alt_name_value
    if san is not None:
        result["subjectAltName"] = _general_names(san)
    aia = cert.authority_information_access_value
    if aia is not None:
        ocsp, issuers = [], []
        for desc in aia:
            location = desc["access_location"]
            if location.name != "uniform_resource_identifier":
                continue
            method = desc["access_method"].native
            if method == "ocsp":
                ocsp.append(_native(location.native))
            elif method == "ca_issuers":
                issuers.append(_native(location.native))
        if ocsp:
            result["OCSP"] = tuple(ocsp)
        if issuers:
            result["caIssuers"] = tuple(issuers)
    crl_points = cert.crl_distribution_points
    if crl_points:
        urls = []
        for point in crl_points:
            for url in point.url and [point.url] or []:
                urls.append(_native(url))
        if urls:
            result["crlDistributionPoints"] = tuple(urls)
    return result
