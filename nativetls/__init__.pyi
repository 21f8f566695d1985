# Type stubs for nativetls (PEP 561). The code itself stays free of annotations, since it also runs on Python 2.7;
# these describe the same API for mypy and IDEs, and `python -m mypy.stubtest nativetls` (the "stubs" tox env)
# checks them against the installed package. A public name added to nativetls/__init__.py needs an entry here
# (stubtest says which): one class or function per name, in the order of __all__ below.
import enum
import socket as _socket
import sys
from abc import ABC, abstractmethod
from types import TracebackType
from typing import (Any, Callable, ClassVar, Dict, FrozenSet, Iterable, Optional, Protocol, Sequence, Tuple, Type,
                    TypeVar, Union, overload)
from os import PathLike

import asn1crypto.x509

__version__: str

_T = TypeVar("_T")
_C = TypeVar("_C", bound="TLSConfiguration")
_Path = Union[str, bytes, "PathLike[str]", "PathLike[bytes]"]
_Password = Union[bytes, str, Callable[[], Union[bytes, str]], None]
_Buffer = Union[bytes, bytearray, memoryview]
# What buffer= and from_buffer take: bytes-like, or ASCII text (PEM).
_Data = Union[bytes, bytearray, memoryview, str]
# PEP 748's identifiers of objects in a system store (from_id, id=).
_Id = bytes
_Address = Tuple[Any, ...]

__all__ = [
    "Backend", "backend", "Certificate", "CertificateVerificationError", "CipherSuite", "ClientContext",
    "ConfigurationError", "NextProtocol", "PrivateKey", "RaggedEOF", "SecurityWarning", "ServerContext",
    "SigningChain", "TLSBuffer", "TLSClientConfiguration", "TLSConfiguration", "TLSError", "TLSServerConfiguration",
    "TLSSession", "TLSSocket", "TLSVersion", "TLSWrappedBuffer", "TLSWrappedSocket", "TrustStore",
    "WantReadError", "WantWriteError",
    "DEFAULT_CIPHER_LIST", "TLSImplementation",  # PEP 748
]

# --- enumerations (nativetls/_enums.py)

class TLSVersion(enum.Enum):
    MINIMUM_SUPPORTED = 'MINIMUM_SUPPORTED'
    SSLv2 = 'SSLv2'
    SSLv3 = 'SSLv3'
    TLSv1 = 'TLSv1'
    TLSv1_1 = 'TLSv1.1'
    TLSv1_2 = 'TLSv1.2'
    TLSv1_3 = 'TLSv1.3'
    MAXIMUM_SUPPORTED = 'MAXIMUM_SUPPORTED'

class CipherSuite(enum.IntEnum):
    TLS_NULL_WITH_NULL_NULL = 0x0000
    TLS_RSA_WITH_NULL_MD5 = 0x0001
    TLS_RSA_WITH_NULL_SHA = 0x0002
    TLS_RSA_WITH_RC4_128_MD5 = 0x0004
    TLS_RSA_WITH_RC4_128_SHA = 0x0005
    TLS_RSA_WITH_IDEA_CBC_SHA = 0x0007
    TLS_RSA_WITH_DES_CBC_SHA = 0x0009
    TLS_RSA_WITH_3DES_EDE_CBC_SHA = 0x000A
    TLS_DH_DSS_WITH_DES_CBC_SHA = 0x000C
    TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA = 0x000D
    TLS_DH_RSA_WITH_DES_CBC_SHA = 0x000F
    TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA = 0x0010
    TLS_DHE_DSS_WITH_DES_CBC_SHA = 0x0012
    TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA = 0x0013
    TLS_DHE_RSA_WITH_DES_CBC_SHA = 0x0015
    TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA = 0x0016
    TLS_DH_anon_WITH_RC4_128_MD5 = 0x0018
    TLS_DH_anon_WITH_DES_CBC_SHA = 0x001A
    TLS_DH_anon_WITH_3DES_EDE_CBC_SHA = 0x001B
    TLS_KRB5_WITH_DES_CBC_SHA = 0x001E
    TLS_KRB5_WITH_3DES_EDE_CBC_SHA = 0x001F
    TLS_KRB5_WITH_RC4_128_SHA = 0x0020
    TLS_KRB5_WITH_IDEA_CBC_SHA = 0x0021
    TLS_KRB5_WITH_DES_CBC_MD5 = 0x0022
    TLS_KRB5_WITH_3DES_EDE_CBC_MD5 = 0x0023
    TLS_KRB5_WITH_RC4_128_MD5 = 0x0024
    TLS_KRB5_WITH_IDEA_CBC_MD5 = 0x0025
    TLS_PSK_WITH_NULL_SHA = 0x002C
    TLS_DHE_PSK_WITH_NULL_SHA = 0x002D
    TLS_RSA_PSK_WITH_NULL_SHA = 0x002E
    TLS_RSA_WITH_AES_128_CBC_SHA = 0x002F
    TLS_DH_DSS_WITH_AES_128_CBC_SHA = 0x0030
    TLS_DH_RSA_WITH_AES_128_CBC_SHA = 0x0031
    TLS_DHE_DSS_WITH_AES_128_CBC_SHA = 0x0032
    TLS_DHE_RSA_WITH_AES_128_CBC_SHA = 0x0033
    TLS_DH_anon_WITH_AES_128_CBC_SHA = 0x0034
    TLS_RSA_WITH_AES_256_CBC_SHA = 0x0035
    TLS_DH_DSS_WITH_AES_256_CBC_SHA = 0x0036
    TLS_DH_RSA_WITH_AES_256_CBC_SHA = 0x0037
    TLS_DHE_DSS_WITH_AES_256_CBC_SHA = 0x0038
    TLS_DHE_RSA_WITH_AES_256_CBC_SHA = 0x0039
    TLS_DH_anon_WITH_AES_256_CBC_SHA = 0x003A
    TLS_RSA_WITH_NULL_SHA256 = 0x003B
    TLS_RSA_WITH_AES_128_CBC_SHA256 = 0x003C
    TLS_RSA_WITH_AES_256_CBC_SHA256 = 0x003D
    TLS_DH_DSS_WITH_AES_128_CBC_SHA256 = 0x003E
    TLS_DH_RSA_WITH_AES_128_CBC_SHA256 = 0x003F
    TLS_DHE_DSS_WITH_AES_128_CBC_SHA256 = 0x0040
    TLS_RSA_WITH_CAMELLIA_128_CBC_SHA = 0x0041
    TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA = 0x0042
    TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA = 0x0043
    TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA = 0x0044
    TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA = 0x0045
    TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA = 0x0046
    TLS_DHE_RSA_WITH_AES_128_CBC_SHA256 = 0x0067
    TLS_DH_DSS_WITH_AES_256_CBC_SHA256 = 0x0068
    TLS_DH_RSA_WITH_AES_256_CBC_SHA256 = 0x0069
    TLS_DHE_DSS_WITH_AES_256_CBC_SHA256 = 0x006A
    TLS_DHE_RSA_WITH_AES_256_CBC_SHA256 = 0x006B
    TLS_DH_anon_WITH_AES_128_CBC_SHA256 = 0x006C
    TLS_DH_anon_WITH_AES_256_CBC_SHA256 = 0x006D
    TLS_RSA_WITH_CAMELLIA_256_CBC_SHA = 0x0084
    TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA = 0x0085
    TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA = 0x0086
    TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA = 0x0087
    TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA = 0x0088
    TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA = 0x0089
    TLS_PSK_WITH_RC4_128_SHA = 0x008A
    TLS_PSK_WITH_3DES_EDE_CBC_SHA = 0x008B
    TLS_PSK_WITH_AES_128_CBC_SHA = 0x008C
    TLS_PSK_WITH_AES_256_CBC_SHA = 0x008D
    TLS_DHE_PSK_WITH_RC4_128_SHA = 0x008E
    TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA = 0x008F
    TLS_DHE_PSK_WITH_AES_128_CBC_SHA = 0x0090
    TLS_DHE_PSK_WITH_AES_256_CBC_SHA = 0x0091
    TLS_RSA_PSK_WITH_RC4_128_SHA = 0x0092
    TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA = 0x0093
    TLS_RSA_PSK_WITH_AES_128_CBC_SHA = 0x0094
    TLS_RSA_PSK_WITH_AES_256_CBC_SHA = 0x0095
    TLS_RSA_WITH_SEED_CBC_SHA = 0x0096
    TLS_DH_DSS_WITH_SEED_CBC_SHA = 0x0097
    TLS_DH_RSA_WITH_SEED_CBC_SHA = 0x0098
    TLS_DHE_DSS_WITH_SEED_CBC_SHA = 0x0099
    TLS_DHE_RSA_WITH_SEED_CBC_SHA = 0x009A
    TLS_DH_anon_WITH_SEED_CBC_SHA = 0x009B
    TLS_RSA_WITH_AES_128_GCM_SHA256 = 0x009C
    TLS_RSA_WITH_AES_256_GCM_SHA384 = 0x009D
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 = 0x009E
    TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 = 0x009F
    TLS_DH_RSA_WITH_AES_128_GCM_SHA256 = 0x00A0
    TLS_DH_RSA_WITH_AES_256_GCM_SHA384 = 0x00A1
    TLS_DHE_DSS_WITH_AES_128_GCM_SHA256 = 0x00A2
    TLS_DHE_DSS_WITH_AES_256_GCM_SHA384 = 0x00A3
    TLS_DH_DSS_WITH_AES_128_GCM_SHA256 = 0x00A4
    TLS_DH_DSS_WITH_AES_256_GCM_SHA384 = 0x00A5
    TLS_DH_anon_WITH_AES_128_GCM_SHA256 = 0x00A6
    TLS_DH_anon_WITH_AES_256_GCM_SHA384 = 0x00A7
    TLS_PSK_WITH_AES_128_GCM_SHA256 = 0x00A8
    TLS_PSK_WITH_AES_256_GCM_SHA384 = 0x00A9
    TLS_DHE_PSK_WITH_AES_128_GCM_SHA256 = 0x00AA
    TLS_DHE_PSK_WITH_AES_256_GCM_SHA384 = 0x00AB
    TLS_RSA_PSK_WITH_AES_128_GCM_SHA256 = 0x00AC
    TLS_RSA_PSK_WITH_AES_256_GCM_SHA384 = 0x00AD
    TLS_PSK_WITH_AES_128_CBC_SHA256 = 0x00AE
    TLS_PSK_WITH_AES_256_CBC_SHA384 = 0x00AF
    TLS_PSK_WITH_NULL_SHA256 = 0x00B0
    TLS_PSK_WITH_NULL_SHA384 = 0x00B1
    TLS_DHE_PSK_WITH_AES_128_CBC_SHA256 = 0x00B2
    TLS_DHE_PSK_WITH_AES_256_CBC_SHA384 = 0x00B3
    TLS_DHE_PSK_WITH_NULL_SHA256 = 0x00B4
    TLS_DHE_PSK_WITH_NULL_SHA384 = 0x00B5
    TLS_RSA_PSK_WITH_AES_128_CBC_SHA256 = 0x00B6
    TLS_RSA_PSK_WITH_AES_256_CBC_SHA384 = 0x00B7
    TLS_RSA_PSK_WITH_NULL_SHA256 = 0x00B8
    TLS_RSA_PSK_WITH_NULL_SHA384 = 0x00B9
    TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256 = 0x00BA
    TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256 = 0x00BB
    TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256 = 0x00BC
    TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256 = 0x00BD
    TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256 = 0x00BE
    TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256 = 0x00BF
    TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256 = 0x00C0
    TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256 = 0x00C1
    TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256 = 0x00C2
    TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256 = 0x00C3
    TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256 = 0x00C4
    TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256 = 0x00C5
    TLS_SM4_GCM_SM3 = 0x00C6
    TLS_SM4_CCM_SM3 = 0x00C7
    TLS_AES_128_GCM_SHA256 = 0x1301
    TLS_AES_256_GCM_SHA384 = 0x1302
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303
    TLS_AES_128_CCM_SHA256 = 0x1304
    TLS_AES_128_CCM_8_SHA256 = 0x1305
    TLS_AEGIS_256_SHA512 = 0x1306
    TLS_AEGIS_128L_SHA256 = 0x1307
    TLS_ECDH_ECDSA_WITH_NULL_SHA = 0xC001
    TLS_ECDH_ECDSA_WITH_RC4_128_SHA = 0xC002
    TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA = 0xC003
    TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA = 0xC004
    TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA = 0xC005
    TLS_ECDHE_ECDSA_WITH_NULL_SHA = 0xC006
    TLS_ECDHE_ECDSA_WITH_RC4_128_SHA = 0xC007
    TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA = 0xC008
    TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA = 0xC009
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA = 0xC00A
    TLS_ECDH_RSA_WITH_NULL_SHA = 0xC00B
    TLS_ECDH_RSA_WITH_RC4_128_SHA = 0xC00C
    TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA = 0xC00D
    TLS_ECDH_RSA_WITH_AES_128_CBC_SHA = 0xC00E
    TLS_ECDH_RSA_WITH_AES_256_CBC_SHA = 0xC00F
    TLS_ECDHE_RSA_WITH_NULL_SHA = 0xC010
    TLS_ECDHE_RSA_WITH_RC4_128_SHA = 0xC011
    TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA = 0xC012
    TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA = 0xC013
    TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA = 0xC014
    TLS_ECDH_anon_WITH_NULL_SHA = 0xC015
    TLS_ECDH_anon_WITH_RC4_128_SHA = 0xC016
    TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA = 0xC017
    TLS_ECDH_anon_WITH_AES_128_CBC_SHA = 0xC018
    TLS_ECDH_anon_WITH_AES_256_CBC_SHA = 0xC019
    TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA = 0xC01A
    TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA = 0xC01B
    TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA = 0xC01C
    TLS_SRP_SHA_WITH_AES_128_CBC_SHA = 0xC01D
    TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA = 0xC01E
    TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA = 0xC01F
    TLS_SRP_SHA_WITH_AES_256_CBC_SHA = 0xC020
    TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA = 0xC021
    TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA = 0xC022
    TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 = 0xC023
    TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384 = 0xC024
    TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 = 0xC025
    TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384 = 0xC026
    TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 = 0xC027
    TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 = 0xC028
    TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256 = 0xC029
    TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384 = 0xC02A
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02B
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xC02C
    TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02D
    TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384 = 0xC02E
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xC02F
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xC030
    TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256 = 0xC031
    TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384 = 0xC032
    TLS_ECDHE_PSK_WITH_RC4_128_SHA = 0xC033
    TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA = 0xC034
    TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA = 0xC035
    TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA = 0xC036
    TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256 = 0xC037
    TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384 = 0xC038
    TLS_ECDHE_PSK_WITH_NULL_SHA = 0xC039
    TLS_ECDHE_PSK_WITH_NULL_SHA256 = 0xC03A
    TLS_ECDHE_PSK_WITH_NULL_SHA384 = 0xC03B
    TLS_RSA_WITH_ARIA_128_CBC_SHA256 = 0xC03C
    TLS_RSA_WITH_ARIA_256_CBC_SHA384 = 0xC03D
    TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256 = 0xC03E
    TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384 = 0xC03F
    TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256 = 0xC040
    TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384 = 0xC041
    TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256 = 0xC042
    TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384 = 0xC043
    TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256 = 0xC044
    TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384 = 0xC045
    TLS_DH_anon_WITH_ARIA_128_CBC_SHA256 = 0xC046
    TLS_DH_anon_WITH_ARIA_256_CBC_SHA384 = 0xC047
    TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256 = 0xC048
    TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384 = 0xC049
    TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256 = 0xC04A
    TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384 = 0xC04B
    TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256 = 0xC04C
    TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384 = 0xC04D
    TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256 = 0xC04E
    TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384 = 0xC04F
    TLS_RSA_WITH_ARIA_128_GCM_SHA256 = 0xC050
    TLS_RSA_WITH_ARIA_256_GCM_SHA384 = 0xC051
    TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256 = 0xC052
    TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384 = 0xC053
    TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256 = 0xC054
    TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384 = 0xC055
    TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256 = 0xC056
    TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384 = 0xC057
    TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256 = 0xC058
    TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384 = 0xC059
    TLS_DH_anon_WITH_ARIA_128_GCM_SHA256 = 0xC05A
    TLS_DH_anon_WITH_ARIA_256_GCM_SHA384 = 0xC05B
    TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256 = 0xC05C
    TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384 = 0xC05D
    TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256 = 0xC05E
    TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384 = 0xC05F
    TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256 = 0xC060
    TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384 = 0xC061
    TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256 = 0xC062
    TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384 = 0xC063
    TLS_PSK_WITH_ARIA_128_CBC_SHA256 = 0xC064
    TLS_PSK_WITH_ARIA_256_CBC_SHA384 = 0xC065
    TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256 = 0xC066
    TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384 = 0xC067
    TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256 = 0xC068
    TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384 = 0xC069
    TLS_PSK_WITH_ARIA_128_GCM_SHA256 = 0xC06A
    TLS_PSK_WITH_ARIA_256_GCM_SHA384 = 0xC06B
    TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256 = 0xC06C
    TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384 = 0xC06D
    TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256 = 0xC06E
    TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384 = 0xC06F
    TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256 = 0xC070
    TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384 = 0xC071
    TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256 = 0xC072
    TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384 = 0xC073
    TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256 = 0xC074
    TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384 = 0xC075
    TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256 = 0xC076
    TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384 = 0xC077
    TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256 = 0xC078
    TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384 = 0xC079
    TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256 = 0xC07A
    TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384 = 0xC07B
    TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256 = 0xC07C
    TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384 = 0xC07D
    TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256 = 0xC07E
    TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384 = 0xC07F
    TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256 = 0xC080
    TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384 = 0xC081
    TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256 = 0xC082
    TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384 = 0xC083
    TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256 = 0xC084
    TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384 = 0xC085
    TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256 = 0xC086
    TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384 = 0xC087
    TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256 = 0xC088
    TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384 = 0xC089
    TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256 = 0xC08A
    TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384 = 0xC08B
    TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256 = 0xC08C
    TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384 = 0xC08D
    TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256 = 0xC08E
    TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384 = 0xC08F
    TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256 = 0xC090
    TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384 = 0xC091
    TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256 = 0xC092
    TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384 = 0xC093
    TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256 = 0xC094
    TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384 = 0xC095
    TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256 = 0xC096
    TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384 = 0xC097
    TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256 = 0xC098
    TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384 = 0xC099
    TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256 = 0xC09A
    TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384 = 0xC09B
    TLS_RSA_WITH_AES_128_CCM = 0xC09C
    TLS_RSA_WITH_AES_256_CCM = 0xC09D
    TLS_DHE_RSA_WITH_AES_128_CCM = 0xC09E
    TLS_DHE_RSA_WITH_AES_256_CCM = 0xC09F
    TLS_RSA_WITH_AES_128_CCM_8 = 0xC0A0
    TLS_RSA_WITH_AES_256_CCM_8 = 0xC0A1
    TLS_DHE_RSA_WITH_AES_128_CCM_8 = 0xC0A2
    TLS_DHE_RSA_WITH_AES_256_CCM_8 = 0xC0A3
    TLS_PSK_WITH_AES_128_CCM = 0xC0A4
    TLS_PSK_WITH_AES_256_CCM = 0xC0A5
    TLS_DHE_PSK_WITH_AES_128_CCM = 0xC0A6
    TLS_DHE_PSK_WITH_AES_256_CCM = 0xC0A7
    TLS_PSK_WITH_AES_128_CCM_8 = 0xC0A8
    TLS_PSK_WITH_AES_256_CCM_8 = 0xC0A9
    TLS_PSK_DHE_WITH_AES_128_CCM_8 = 0xC0AA
    TLS_PSK_DHE_WITH_AES_256_CCM_8 = 0xC0AB
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM = 0xC0AC
    TLS_ECDHE_ECDSA_WITH_AES_256_CCM = 0xC0AD
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 = 0xC0AE
    TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8 = 0xC0AF
    TLS_ECCPWD_WITH_AES_128_GCM_SHA256 = 0xC0B0
    TLS_ECCPWD_WITH_AES_256_GCM_SHA384 = 0xC0B1
    TLS_ECCPWD_WITH_AES_128_CCM_SHA256 = 0xC0B2
    TLS_ECCPWD_WITH_AES_256_CCM_SHA384 = 0xC0B3
    TLS_SHA256_SHA256 = 0xC0B4
    TLS_SHA384_SHA384 = 0xC0B5
    TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC = 0xC100
    TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC = 0xC101
    TLS_GOSTR341112_256_WITH_28147_CNT_IMIT = 0xC102
    TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L = 0xC103
    TLS_GOSTR341112_256_WITH_MAGMA_MGM_L = 0xC104
    TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S = 0xC105
    TLS_GOSTR341112_256_WITH_MAGMA_MGM_S = 0xC106
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA8
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA9
    TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCAA
    TLS_PSK_WITH_CHACHA20_POLY1305_SHA256 = 0xCCAB
    TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 = 0xCCAC
    TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256 = 0xCCAD
    TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256 = 0xCCAE
    TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256 = 0xD001
    TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384 = 0xD002
    TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256 = 0xD003
    TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256 = 0xD005

class NextProtocol(enum.Enum):
    H2 = b'h2'
    H2C = b'h2c'
    HTTP1 = b'http/1.1'
    WEBRTC = b'webrtc'
    C_WEBRTC = b'c-webrtc'
    FTP = b'ftp'
    STUN = b'stun.nat-discovery'
    TURN = b'stun.turn'

#: PEP 748's recommended cipher list (TLS 1.3 suites first).
DEFAULT_CIPHER_LIST: Tuple[CipherSuite, ...]

# --- errors (nativetls/_errors.py)

class TLSError(Exception):
    native_code: Optional[int]
    native_message: Optional[str]
    def __init__(self, message: str = "", native_code: Optional[int] = None,
                 native_message: Optional[str] = None) -> None: ...

class WantReadError(TLSError): ...
class WantWriteError(TLSError): ...
class RaggedEOF(TLSError): ...
class ConfigurationError(TLSError): ...

class CertificateVerificationError(TLSError):
    host: Optional[str]
    reason: str
    def __init__(self, message: Optional[str] = None, host: Optional[str] = None, reason: str = "other",
                 native_code: Optional[int] = None, native_message: Optional[str] = None) -> None: ...

class SecurityWarning(UserWarning): ...

# --- value objects (nativetls/_objects.py)

# The PEP 748 constructors take exactly one of buffer=, path=, id= (ValueError otherwise): one overload each, so that
# mypy rejects none or two. path= and id= are keyword-only here (the runtime also takes them positionally after
# None placeholders, which no one should write).
class Certificate:
    @overload
    def __init__(self, buffer: _Data, path: None = None, id: None = None) -> None: ...
    @overload
    def __init__(self, buffer: None = None, *, path: _Path, id: None = None) -> None: ...
    @overload
    def __init__(self, buffer: None = None, path: None = None, *, id: _Id) -> None: ...
    @classmethod
    def from_buffer(cls, data: _Data) -> Certificate: ...
    @classmethod
    def from_file(cls, path: _Path) -> Certificate: ...
    @classmethod
    def from_id(cls, id: _Id) -> Certificate: ...
    def to_der(self) -> bytes: ...
    def to_pem(self) -> bytes: ...
    @property
    def asn1(self) -> asn1crypto.x509.Certificate: ...
    @property
    def subject(self) -> str: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class PrivateKey:
    @overload
    def __init__(self, buffer: _Data, path: None = None, id: None = None, password: _Password = None) -> None: ...
    @overload
    def __init__(self, buffer: None = None, *, path: _Path, id: None = None, password: _Password = None) -> None: ...
    @overload
    def __init__(self, buffer: None = None, path: None = None, *, id: _Id, password: _Password = None) -> None: ...
    @classmethod
    def from_buffer(cls, data: _Data, password: _Password = None) -> PrivateKey: ...
    @classmethod
    def from_file(cls, path: _Path, password: _Password = None) -> PrivateKey: ...
    @classmethod
    def from_id(cls, id: _Id) -> PrivateKey: ...
    @property
    def is_encrypted(self) -> bool: ...

# As in PEP 748 the leaf's key may be None: the key is then the one in the certificate's own PEM data, and `leaf`
# returns it; it stays None only for a certificate made with from_id.
class SigningChain:
    def __init__(self, leaf: Tuple[Certificate, Optional[PrivateKey]],
                 chain: Optional[Iterable[Certificate]] = None) -> None: ...
    @property
    def leaf(self) -> Tuple[Certificate, Optional[PrivateKey]]: ...
    @property
    def chain(self) -> Tuple[Certificate, ...]: ...
    @classmethod
    def from_pem_files(cls, chain_path: _Path, key_path: _Path, password: _Password = None) -> SigningChain: ...
    @classmethod
    def from_pkcs12(cls, data_or_path: Union[_Buffer, _Path], password: _Password = None) -> SigningChain: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

# TrustStore() is the system store; otherwise at most one of buffer=, path=, id=.
class TrustStore:
    @overload
    def __init__(self, buffer: Optional[_Data] = None, path: None = None, id: None = None) -> None: ...
    @overload
    def __init__(self, buffer: None = None, *, path: _Path, id: None = None) -> None: ...
    @overload
    def __init__(self, buffer: None = None, path: None = None, *, id: _Id) -> None: ...
    @classmethod
    def system(cls) -> TrustStore: ...
    @classmethod
    def from_buffer(cls, data: _Data) -> TrustStore: ...
    @classmethod
    def from_file(cls, path: _Path) -> TrustStore: ...
    @classmethod
    def from_id(cls, id: _Id) -> TrustStore: ...
    @classmethod
    def from_pem_file(cls, path: _Path) -> TrustStore: ...
    def with_crls(self, crls: Union[bytes, _Path]) -> TrustStore: ...
    @property
    def is_system(self) -> bool: ...
    @property
    def certificates(self) -> Optional[Tuple[Certificate, ...]]: ...
    @property
    def crls(self) -> Tuple[bytes, ...]: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class TLSSession: ...

# --- configuration (nativetls/_config.py)

_CertificateChain = Union[SigningChain, Tuple[Sequence[Certificate], PrivateKey], Sequence[SigningChain]]
_SNICallback = Callable[[TLSBuffer, Optional[str], TLSConfiguration], TLSConfiguration]

class TLSConfiguration:
    def __init__(self, validate_certificates: bool = True, certificate_chain: Optional[_CertificateChain] = None,
                 ciphers: Optional[Sequence[Union[CipherSuite, int]]] = None,
                 inner_protocols: Optional[Sequence[Union[NextProtocol, bytes]]] = None,
                 lowest_supported_version: Optional[TLSVersion] = None,
                 highest_supported_version: Optional[TLSVersion] = None,
                 trust_store: Optional[TrustStore] = None,
                 sni_callback: Optional[_SNICallback] = None) -> None: ...
    @property
    def validate_certificates(self) -> bool: ...
    @property
    def certificate_chain(self) -> Optional[_CertificateChain]: ...
    @property
    def signing_chains(self) -> Tuple[SigningChain, ...]: ...
    @property
    def ciphers(self) -> Optional[Tuple[Union[CipherSuite, int], ...]]: ...
    @property
    def inner_protocols(self) -> Optional[Tuple[Union[NextProtocol, bytes], ...]]: ...
    @property
    def lowest_supported_version(self) -> Optional[TLSVersion]: ...
    @property
    def highest_supported_version(self) -> Optional[TLSVersion]: ...
    @property
    def trust_store(self) -> Optional[TrustStore]: ...
    @property
    def sni_callback(self) -> Optional[_SNICallback]: ...
    def update(self: _C, **fields: Any) -> _C: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

# PEP 748's two configuration classes (nativetls/_config.py, _PEP748Configuration): the same fields in PEP 748's
# argument order, then nativetls's validate_certificates and sni_callback; inner_protocols reads () for none.
class _PEP748Configuration(TLSConfiguration):
    def __init__(self, certificate_chain: Optional[_CertificateChain] = None,
                 ciphers: Optional[Sequence[Union[CipherSuite, int]]] = None,
                 inner_protocols: Optional[Sequence[Union[NextProtocol, bytes]]] = None,
                 lowest_supported_version: Optional[TLSVersion] = None,
                 highest_supported_version: Optional[TLSVersion] = None,
                 trust_store: Optional[TrustStore] = None, validate_certificates: bool = True,
                 sni_callback: Optional[_SNICallback] = None) -> None: ...
    @property
    def inner_protocols(self) -> Tuple[Union[NextProtocol, bytes], ...]: ...

class TLSClientConfiguration(_PEP748Configuration): ...
class TLSServerConfiguration(_PEP748Configuration): ...

# --- the contract (nativetls/_abc.py)

class TLSBuffer(ABC):
    @abstractmethod
    def do_handshake(self) -> None: ...
    @abstractmethod
    def read(self, amt: Optional[int] = None, buffer: Optional[Any] = None) -> Union[bytes, int]: ...
    def readinto(self, buffer: Any, amt: Optional[int] = None) -> int: ...
    @abstractmethod
    def write(self, buf: _Buffer) -> int: ...
    @abstractmethod
    def shutdown(self) -> None: ...
    @abstractmethod
    def process_incoming(self, data: _Buffer) -> None: ...
    @abstractmethod
    def process_outgoing(self, amt: Optional[int] = None) -> bytes: ...
    @abstractmethod
    def incoming_bytes_buffered(self) -> int: ...
    @abstractmethod
    def outgoing_bytes_buffered(self) -> int: ...
    def receive_from_network(self, data: _Buffer) -> None: ...
    def peek_outgoing(self, amt: int) -> bytes: ...
    def consume_outgoing(self, amt: int) -> None: ...
    @abstractmethod
    def cipher(self) -> Union[CipherSuite, int, None]: ...
    @abstractmethod
    def negotiated_protocol(self) -> Union[NextProtocol, bytes, None]: ...
    @property
    @abstractmethod
    def negotiated_tls_version(self) -> Optional[TLSVersion]: ...
    def getpeercert(self, binary_form: bool = False) -> Union[Dict[str, Any], bytes, None]: ...
    @abstractmethod
    def getpeercertchain(self) -> Optional[Tuple[bytes, ...]]: ...
    @property
    @abstractmethod
    def context(self) -> Union[ClientContext, ServerContext]: ...
    @property
    @abstractmethod
    def session(self) -> Optional[TLSSession]: ...
    @property
    @abstractmethod
    def session_reused(self) -> bool: ...
    @abstractmethod
    def close(self) -> None: ...
    def __enter__(self: _T) -> _T: ...
    def __exit__(self, *exc_info: object) -> None: ...

class _Context(ABC):
    @property
    def configuration(self) -> TLSConfiguration: ...

# Not abstract here, although wrap_buffers is abstract at runtime: ClientContext(configuration) makes the default
# backend's subclass (see tests/stubtest-allowlist.txt), so user code instantiates these names directly.
class ClientContext(_Context):
    def __init__(self, configuration: TLSConfiguration) -> None: ...
    def wrap_buffers(self, server_hostname: Optional[str], session: Optional[TLSSession] = None) -> TLSBuffer: ...
    def create_buffer(self, server_hostname: Optional[str], session: Optional[TLSSession] = None) -> TLSBuffer: ...
    def wrap_socket(self, socket: _socket.socket, server_hostname: Optional[str],
                    session: Optional[TLSSession] = None, do_handshake_on_connect: bool = True) -> TLSSocket: ...
    def connect(self, address: _Address, timeout: Optional[float] = None) -> TLSSocket: ...

class ServerContext(_Context):
    def __init__(self, configuration: TLSConfiguration) -> None: ...
    def wrap_buffers(self) -> TLSBuffer: ...
    def create_buffer(self) -> TLSBuffer: ...
    def wrap_socket(self, socket: _socket.socket, do_handshake_on_connect: bool = True) -> TLSSocket: ...
    def connect(self, address: _Address, backlog: int = 128) -> TLSSocket: ...

# --- the socket (nativetls/_socket.py)

class TLSSocket:
    direct_io: ClassVar[bool]
    def __init__(self, sock: _socket.socket, buffer: Optional[TLSBuffer], context: Union[ClientContext, ServerContext],
                 do_handshake_on_connect: bool = True) -> None: ...
    def do_handshake(self) -> None: ...
    def recv(self, bufsize: int = 65536, flags: int = 0) -> bytes: ...
    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int: ...
    def read(self, len: int = 1024, buffer: Optional[Any] = None) -> Union[bytes, int]: ...
    def send(self, data: _Buffer, flags: int = 0) -> int: ...
    def sendall(self, data: _Buffer, flags: int = 0) -> None: ...
    def write(self, data: _Buffer, flags: int = 0) -> int: ...
    def unwrap(self) -> _socket.socket: ...
    def accept(self) -> Tuple[TLSSocket, _Address]: ...
    def listen(self, backlog: int = 128) -> None: ...
    def fileno(self) -> int: ...
    def settimeout(self, value: Optional[float]) -> None: ...
    def gettimeout(self) -> Optional[float]: ...
    def setblocking(self, flag: bool) -> None: ...
    def getpeername(self) -> _Address: ...
    def getsockname(self) -> _Address: ...
    def setsockopt(self, *args: Any) -> None: ...
    def getsockopt(self, *args: Any) -> Any: ...
    @property
    def family(self) -> int: ...
    @property
    def type(self) -> int: ...
    def shutdown(self, how: int) -> None: ...
    # None: as ssl's close(); True/False: PEP 748's close(force) (False also waits for the peer's close_notify).
    def close(self, force: Optional[bool] = None) -> None: ...
    def detach(self) -> int: ...
    makefile = _socket.socket.makefile
    def cipher(self) -> Union[CipherSuite, int, None]: ...
    def negotiated_protocol(self) -> Union[NextProtocol, bytes, None]: ...
    @property
    def negotiated_tls_version(self) -> Optional[TLSVersion]: ...
    def getpeercert(self, binary_form: bool = False) -> Union[Dict[str, Any], bytes, None]: ...
    def getpeercertchain(self) -> Optional[Tuple[bytes, ...]]: ...
    @property
    def session(self) -> Optional[TLSSession]: ...
    @property
    def session_reused(self) -> bool: ...
    @property
    def context(self) -> Union[ClientContext, ServerContext]: ...
    @property
    def buffer(self) -> Optional[TLSBuffer]: ...
    def __enter__(self: _T) -> _T: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def __del__(self) -> None: ...

#: PEP 543 names.
TLSWrappedBuffer = TLSBuffer
TLSWrappedSocket = TLSSocket

# --- backends (nativetls/_backend.py)

# PEP 748's validate_config: raises ConfigurationError for what the implementation cannot honour.
_ValidateConfig = Callable[[Union[TLSClientConfiguration, TLSServerConfiguration]], None]

class TLSImplementation:
    client_context: Type[ClientContext]
    server_context: Type[ServerContext]
    validate_config: _ValidateConfig
    def __init__(self, client_context: Type[ClientContext], server_context: Type[ServerContext],
                 validate_config: _ValidateConfig) -> None: ...

# A backend's validate_config takes any TLSConfiguration, and server= to say which side to check it as.
class _BackendValidateConfig(Protocol):
    def __call__(self, configuration: TLSConfiguration, server: Optional[bool] = None) -> None: ...

class Backend(TLSImplementation):
    name: str
    native_version: str
    native_library: Optional[str]
    describe_trust_store: Optional[Callable[[], Dict[str, Any]]]
    validate_config: _BackendValidateConfig
    certificate: Type[Certificate]
    private_key: Type[PrivateKey]
    trust_store: Type[TrustStore]
    supported_versions: FrozenSet[TLSVersion]
    features: FrozenSet[str]
    def __init__(self, name: str, native_version: str, client_context: Type[ClientContext],
                 server_context: Type[ServerContext], supported_versions: Iterable[TLSVersion],
                 features: Iterable[str], native_library: Optional[str] = None,
                 describe_trust_store: Optional[Callable[[], Dict[str, Any]]] = None) -> None: ...

def backend(name: Optional[str] = None) -> Backend: ...
