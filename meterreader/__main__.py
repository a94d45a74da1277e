"""``python -m meterreader`` runs the command line."""

import sys

from meterreader.cli import main

sys.exit(main())
