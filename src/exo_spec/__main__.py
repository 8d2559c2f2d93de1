"""``python -m exo_spec``."""

import sys

from exo_spec.cli import main

sys.exit(main())
