"""The checkers judged on a corpus of real mistakes and of correct answers in unusual styles.

Every entry of the corpus_*.py modules is checked in-process, hidden=True on several seeds (the
verdict, status and bug, must be the same on every one: the seed draws values, never whether a
case that tells right from wrong is there) and visible, and the student's message must contain
the entry's phrase.
"""
import pytest

import importlib
from pathlib import Path

from checks_harness import EXERCISES, Entry, judge

CORPUS: list[Entry] = [entry for path in sorted(Path(__file__).parent.glob("corpus_*.py"))
                       for entry in importlib.import_module(path.stem).ENTRIES]


def _verdict(outcome):
    return outcome.status, outcome.bug


@pytest.mark.parametrize("entry", CORPUS, ids=[e.id for e in CORPUS])
def test_entry(entry: Entry):
    for seed in entry.seeds:
        outcome = judge(entry, hidden=True, seed=seed)
        assert _verdict(outcome) == (entry.status, entry.bug), f"seed {seed}:\n{outcome}"
        text = str(outcome).lower()
        assert entry.phrase.lower() in text, f"seed {seed}: {entry.phrase!r} not in:\n{outcome}"
        if outcome.passed:
            assert outcome.cases > 0
        else:
            assert outcome.message and outcome.case, f"seed {seed}: no message or case:\n{outcome!r}"
    if entry.visible is not None:
        outcome = judge(entry, hidden=False, seed=0)
        want = entry.status if entry.visible == "same" else entry.visible
        assert outcome.status == want, f"visible:\n{outcome}"


def test_every_exercise_has_wrong_and_right_answers():
    for names in EXERCISES.values():
        for name in names:
            statuses = {e.status for e in CORPUS if e.exercise == name}
            assert "ok" in statuses and statuses - {"ok"}, (name, statuses)
