"""``python -m certify.cli``: the ``certify`` command."""

import sys

from . import main

sys.exit(main())
