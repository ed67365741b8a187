"""`python -m server` runs the same command line as the `rewinddb` script."""
from server.cli import main

raise SystemExit(main())
