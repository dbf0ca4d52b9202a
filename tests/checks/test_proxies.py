"""The checkers as the grader runs them: the student's functions and objects are proxies that can only
be called and have attributes read, and what comes back is plain data. Every corpus entry must get
the verdict it gets in-process."""
import pytest

from checks_harness import judge_through_proxy
from test_corpus import CORPUS


@pytest.mark.parametrize("entry", CORPUS, ids=[e.id for e in CORPUS])
def test_same_verdict_through_a_proxy(entry):
    seed = entry.seeds[-1]
    outcome = judge_through_proxy(entry, hidden=True, seed=seed)
    assert (outcome.status, outcome.bug) == (entry.status, entry.bug), str(outcome)
    assert entry.phrase.lower() in str(outcome).lower(), str(outcome)
