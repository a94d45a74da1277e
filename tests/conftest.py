"""Test configuration shared by the whole suite."""

import os
from pathlib import Path

# Qt aborts without a display unless told to render offscreen; set it before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """../shared beside the checkout (overridable with MR_SHARED_DIR)."""
    return Path(os.environ.get("MR_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def vectors() -> dict:
    import json
    path = shared_dir() / "vectors" / "dlms_vectors.json"
    if not path.exists():
        pytest.skip(f"published vectors not found at {path}")
    return json.loads(path.read_text())
