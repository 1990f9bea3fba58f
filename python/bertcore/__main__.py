"""``python -m bertcore``: the ``bertcore`` command line (see ``bertcore.cli``)."""

import sys

from .cli import main

sys.exit(main())
