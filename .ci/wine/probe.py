# -*- coding: utf-8 -*-
"""Smoke probe for the Wine harness: bind the declaration tables and produce one ClientHello.

Run: .ci/wine/run.sh .ci/wine/probe.py   (prints the record header and exits 0 on success)
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import sys

from nativetls._win import _crypt32, _secur32 as S


def main():
    print("secur32:", ctypes.windll.secur32)
    sspi = S.load()
    _crypt32.load()
    cred = S.SCHANNEL_CRED(dwVersion=S.SCHANNEL_CRED_VERSION,
                           grbitEnabledProtocols=S.SP_PROT_TLS1_2_CLIENT,
                           dwFlags=S.SCH_CRED_MANUAL_CRED_VALIDATION | S.SCH_CRED_NO_DEFAULT_CREDS)
    handle = S.SecHandle()
    status = sspi.AcquireCredentialsHandleW(None, "Microsoft Unified Security Protocol Provider",
                                            S.SECPKG_CRED_OUTBOUND, None, ctypes.byref(cred), None, None,
                                            ctypes.byref(handle), None)
    print("AcquireCredentialsHandleW:", hex(status & 0xFFFFFFFF))
    if status != S.SEC_E_OK:
        return 1
    out_buf = S.SecBuffer(0, S.SECBUFFER_TOKEN, None)
    out_desc = S.SecBufferDesc(S.SECBUFFER_VERSION, 1, ctypes.pointer(out_buf))
    ctx = S.SecHandle()
    attrs = ctypes.c_uint32()
    flags = (S.ISC_REQ_SEQUENCE_DETECT | S.ISC_REQ_REPLAY_DETECT | S.ISC_REQ_CONFIDENTIALITY |
             S.ISC_REQ_ALLOCATE_MEMORY | S.ISC_REQ_STREAM | S.ISC_REQ_MANUAL_CRED_VALIDATION)
    status = sspi.InitializeSecurityContextW(ctypes.byref(handle), None, "example.test", flags, 0, 0, None, 0,
                                             ctypes.byref(ctx), ctypes.byref(out_desc), ctypes.byref(attrs), None)
    print("InitializeSecurityContextW:", hex(status & 0xFFFFFFFF))
    if status != S.SEC_I_CONTINUE_NEEDED or not out_buf.cbBuffer:
        return 1
    hello = ctypes.string_at(out_buf.pvBuffer, out_buf.cbBuffer)
    sspi.FreeContextBuffer(out_buf.pvBuffer)
    sspi.DeleteSecurityContext(ctypes.byref(ctx))
    sspi.FreeCredentialsHandle(ctypes.byref(handle))
    record_type, version, length, hs_type = hello[0], hello[1:3], int.from_bytes(hello[3:5], "big"), hello[5]
    print("ClientHello: %d bytes, record type %d, record version %s, handshake type %d, SNI present: %s"
          % (len(hello), record_type, version.hex(), hs_type, b"example.test" in hello))
    return 0 if record_type == 22 and hs_type == 1 and length == len(hello) - 5 else 1


if __name__ == "__main__":
    sys.exit(main())
