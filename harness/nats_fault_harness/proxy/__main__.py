"""``python -m nats_fault_harness.proxy``: run the stand-alone proxy server."""

import sys

from nats_fault_harness.proxy._main import main

sys.exit(main())
