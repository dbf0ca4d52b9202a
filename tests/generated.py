"""Checking generated files that are committed (the demo class, the attack corpus)."""
from pathlib import Path


def assert_same_tree(made: Path, committed: Path, how_to_regenerate: str) -> None:
    """The files under ``made`` (just generated) equal, byte for byte, those committed under ``committed``."""
    files = lambda root: sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())  # noqa: E731
    assert files(made) == files(committed), f"the committed files differ from what is made: {how_to_regenerate}"
    for rel in files(made):
        assert (made / rel).read_bytes() == (committed / rel).read_bytes(), f"{rel} is out of date: {how_to_regenerate}"
