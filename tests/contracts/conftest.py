"""Contract suites live in this directory as plain modules (``*_contract.py``, not collected);
each ``test_contract_*.py`` runs one suite against one implementation by subclassing it."""

import sys
from pathlib import Path

# See tests/knowledge_base/conftest.py: the repository root must precede tests/ on sys.path
# so `knowledge_base` is the real package, not the tests/knowledge_base directory.
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
