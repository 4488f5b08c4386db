"""The signature vectors in ``tests/data`` are the shared, independently made ones, unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
SHARED_SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "spec"
COPIES = ("signature-vectors.json", "signature-vectors-v5-v6.json")


@pytest.mark.parametrize("name", COPIES)
def test_the_repo_copy_equals_the_shared_vectors_byte_for_byte(name: str) -> None:
    shared = SHARED_SPEC / name
    if not shared.is_file():
        pytest.skip(f"{shared} is not beside this clone; the repo copy is used as is")
    assert (DATA / name).read_bytes() == shared.read_bytes(), (
        f"tests/data/{name} differs from {shared}: copy the shared file again"
    )


@pytest.mark.parametrize("name", COPIES)
def test_the_repo_carries_its_own_copy_of_the_vectors(name: str) -> None:
    assert (DATA / name).stat().st_size > 0
