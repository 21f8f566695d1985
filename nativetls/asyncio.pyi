# Type stubs for nativetls.asyncio (see nativetls/__init__.pyi). The runtime takes **kwargs (its code also imports
# on Python 2.7, without keyword-only arguments); the stub spells the keyword-only arguments it documents.
import asyncio
from typing import Any, Awaitable, Callable, Optional, Tuple, Union

from nativetls import ClientContext, ServerContext

__all__ = ["open_connection", "start_server"]

_ClientConnected = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Union[None, Awaitable[None]]]

def open_connection(host: Optional[str] = None, port: Optional[int] = None, *, context: ClientContext,
                    server_hostname: Optional[str] = ..., limit: int = ..., ssl_handshake_timeout: float = ...,
                    **kwargs: Any) -> Awaitable[Tuple[asyncio.StreamReader, asyncio.StreamWriter]]: ...
def start_server(client_connected_cb: _ClientConnected, host: Optional[str] = None, port: Optional[int] = None, *,
                 context: ServerContext, limit: int = ..., ssl_handshake_timeout: float = ...,
                 **kwargs: Any) -> Awaitable[asyncio.Server]: ...
