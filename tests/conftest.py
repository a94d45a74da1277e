"""Test configuration shared by the whole suite."""

import os

# Qt aborts without a display unless told to render offscreen; set it before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from shared_data import load_vectors  # noqa: E402


@pytest.fixture(scope="session")
def vectors() -> dict:
    """The published DLMS byte vectors (../shared/vectors/dlms_vectors.json)."""
    return load_vectors()
