"""Shared fixtures: paths of the build (TY_BUILD), the shared data (TY_SHARED) and texts."""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("TY_BUILD", "build"))
SHARED = os.path.abspath(os.path.join(ROOT, os.environ.get("TY_SHARED", "../shared")))


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def build():
    return BUILD


@pytest.fixture(scope="session")
def shared():
    return SHARED


@pytest.fixture(scope="session")
def original():
    with open(os.path.join(ROOT, "examples", "original.txt"), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="session")
def spun():
    with open(os.path.join(ROOT, "examples", "spun.txt"), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="session")
def unrelated():
    with open(os.path.join(ROOT, "examples", "unrelated.txt"), encoding="utf-8") as f:
        return f.read()
