"""``python -m insights`` runs the command line."""

import sys

from insights.cli import main

sys.exit(main())
