"""Where the documentation lives online, for messages a wheel user reads.

The docs are Markdown in the repository (``docs/``); a wheel does not carry them, so
messages and ``--help`` point at their address on GitHub (the Project-URLs of the
package metadata name the same places).
"""

from __future__ import annotations

__all__ = ["DOCS_URL", "REPO_URL", "doc_url"]

REPO_URL = "https://github.com/nats-fault-harness/nats-fault-harness"
DOCS_URL = f"{REPO_URL}/tree/main/docs"
"""The documentation folder (the ``Documentation`` Project-URL)."""


def doc_url(page: str, anchor: str = "") -> str:
    """The address of the page ``docs/<page>`` (with ``#anchor`` if given)."""
    return f"{REPO_URL}/blob/main/docs/{page}" + (f"#{anchor}" if anchor else "")
