"""conftest.py of a project whose CI jobs share one property campaign.

Every job loads the `campaign` profile (`pytest --hypothesis-profile campaign`) and reads
and writes one example database in the folder `CAMPAIGN_DB`, which the CI restores before
the job and saves after it (a cache or an artifact). A failure one job finds is saved
there, shrunk, and every later job replays it first, before drawing new examples.
"""

import os

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

settings.register_profile(
    "campaign",
    max_examples=int(os.environ.get("CAMPAIGN_EXAMPLES", "200")),
    database=DirectoryBasedExampleDatabase(os.environ["CAMPAIGN_DB"]),
    print_blob=True,
)
