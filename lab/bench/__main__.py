"""``python -m lab.bench`` (kept for scripts; ``python -m lab bench`` is the verb)."""

import sys

from lab.bench import main

sys.exit(main())
