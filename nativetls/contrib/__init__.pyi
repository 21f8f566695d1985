# Type stubs for nativetls.contrib (see nativetls/__init__.pyi).
from typing import List

__all__: List[str]
