"""``python -m mailctl``: run a command and exit with its status."""

import sys

from mailctl.cli import main

sys.exit(main())
