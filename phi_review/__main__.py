import sys

from phi_review.tui.cli import main

sys.exit(main())
