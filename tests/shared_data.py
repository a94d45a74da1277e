"""Where the tests find the project's shared reference data (../shared beside the checkout).

The published byte vectors and the IS 15959 notes live outside the repository, in ``../shared``
(CI lays a copy there); ``MR_SHARED_DIR`` points elsewhere. Missing data is an error, never a skip,
so that a green run always means the vectors were checked.
"""

import json
import os
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("MR_SHARED_DIR", REPO.parent / "shared"))


def shared_file(*parts: str) -> Path:
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the tests need the shared reference data (../shared beside the "
            f"checkout, or set MR_SHARED_DIR)")
    return path


@lru_cache(maxsize=1)
def load_vectors() -> dict:
    return json.loads(shared_file("vectors", "dlms_vectors.json").read_text())
