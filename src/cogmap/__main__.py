"""``python -m cogmap`` is the ``cogmap`` command."""

import sys

from cogmap.cli.main import main

sys.exit(main())
