"""``python -m riskscore``."""

from riskscore.cli import main

raise SystemExit(main())
