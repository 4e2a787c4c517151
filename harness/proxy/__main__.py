"""``python -m harness.proxy``: run the stand-alone proxy server."""

import sys

from harness.proxy._main import main

sys.exit(main())
