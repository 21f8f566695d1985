# Type stubs for nativetls.pip (see nativetls/__init__.pyi).
from typing import Optional, Sequence

__all__ = ["main", "prepare_pip"]

def prepare_pip() -> None: ...
def main(argv: Optional[Sequence[str]] = None) -> int: ...
