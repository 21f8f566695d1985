# -*- coding: utf-8 -*-
"""``python -m nativetls``: selftest, info, connect, serve (see ``_cli``)."""
from __future__ import absolute_import

import sys

from nativetls._cli import main

if __name__ == "__main__":
    sys.exit(main())
