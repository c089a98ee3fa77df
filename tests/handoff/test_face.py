"""The package's face hands on its names and does nothing else: importing it loads no
submodule, and every name in ``__all__`` resolves to the object its home module defines."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import handoff

pytestmark = pytest.mark.unit


def test_every_public_name_resolves_to_its_home_module():
    assert sorted(handoff.__all__) == sorted(handoff._HOME)
    for name in handoff.__all__:
        home = importlib.import_module(handoff._HOME[name])
        assert getattr(handoff, name) is getattr(home, name), name


def test_importing_the_package_loads_none_of_its_modules():
    code = "import sys, handoff; print(sorted(m for m in sys.modules if m.startswith('handoff.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        handoff.NoSuchThing  # noqa: B018
