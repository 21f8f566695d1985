"""nativetls.asyncio: open_connection / start_server with the standard StreamReader/StreamWriter.

Peers: asyncio + the stdlib ssl module, ``openssl s_server`` / ``s_client``, and nativetls itself (200 concurrent
connections on one loop). The cases live in _async_cases.py (``async def`` cannot even be compiled on 2.7); on 2.7
this module checks that nativetls.asyncio compiles and refuses to import with a clear message.
"""
from __future__ import absolute_import, division, print_function

import os
import sys

import pytest

import nativetls

if sys.version_info[0] >= 3:
    from _async_cases import *  # noqa: F401,F403


def test_module_compiles_on_every_python():
    path = os.path.join(os.path.dirname(os.path.abspath(nativetls.__file__)), "asyncio.py")
    with open(path) as handle:
        source = handle.read()
    compile(source, path, "exec")  # on 2.7 too: no async/await/keyword-only syntax
    assert "from __future__ import absolute_import" in source  # else it would import itself as "asyncio" on 2.7


@pytest.mark.skipif(sys.version_info[0] >= 3, reason="Python 2.7 only")
def test_python2_import_error_is_clear():
    with pytest.raises(ImportError) as info:
        import nativetls.asyncio  # noqa: F401
    assert "needs Python 3" in str(info.value)
