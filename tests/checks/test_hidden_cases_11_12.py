"""Notebooks 11 and 12: the hidden cases hold their adversarial structures whatever the seed, the checkers'
oracles agree with independent ones, and what the notebooks claim about the catalogued bugs is true."""
import numpy as np
from hypothesis import given, settings, strategies as st

from course_lib import autodiff, weight_decay
from course_lib.checks import fit11, graph12, networks12, optim11, training11
from course_lib.checks.autodiff12 import _unbroadcast_cases
from course_lib.gradcheck import numerical_gradient, rel_error

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


# ------------------------------------------------------------------ notebook 11
def test_minibatch_cases_hold_every_awkward_size():
    cases = training11._minibatch_cases(hidden=True)
    assert any(N % b for N, b in cases[:2]), "the visible cases include a shorter last batch"
    assert any(b > N for N, b in cases) and any(b == N for N, b in cases) and any(b == 1 for N, b in cases)
    assert any(N == 1 for N, b in cases) and any(N >= 10 and N % b for N, b in cases)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_penalty_cases_hold_vectors_that_are_not_biases_by_name_and_matrices_of_one_row(seed):
    cases = training11.penalty_cases(hidden=True, seed=seed)
    names = {n for _, p, _ in cases for n in p}
    assert {"gamma", "beta"} <= names
    assert any(p.shape[0] == 1 and p.ndim == 2 for _, params, _ in cases for p in params.values())
    assert any(p.ndim == 3 for _, params, _ in cases for p in params.values())
    assert any(lam == 0 for _, _, lam in cases)


@settings(max_examples=10, deadline=None)
@given(SEEDS)
def test_the_l2_oracle_is_what_central_differences_give(seed):
    for _, params, lam in training11.penalty_cases(hidden=True, seed=seed):
        grads = weight_decay.l2_penalty_gradient(params, lam)
        for name, p in params.items():
            numeric = numerical_gradient(lambda: weight_decay.l2_penalty(params, lam), p)
            assert np.allclose(numeric, grads.get(name, np.zeros_like(p)), rtol=1e-6, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_optimizer_runs_hold_a_zero_gradient_two_instances_and_a_schedule(seed):
    for runs in (optim11._momentum_runs(True, seed), optim11._adam_runs(True, seed)):
        assert any(r.twin for r in runs)
        assert any(all(not np.any(g) for g in step.values()) for r in runs for step in r.grads)
    assert any(callable(r.args[0]) for r in optim11._adam_runs(True, seed))
    assert any(r.kwargs.get("mu") == 0.0 for r in optim11._momentum_runs(True, seed))


def test_stopping_sequences_hold_ties_nan_and_min_delta():
    cases = fit11._stopping_cases(hidden=True)
    assert any(len(set(losses)) < len(losses) for _, losses, _, _ in cases)
    assert any(any(v != v for v in losses) for _, losses, _, _ in cases)
    assert any(d > 0 for _, _, _, d in cases) and any(p == 1 for _, _, p, _ in cases)


@settings(max_examples=15, deadline=None)
@given(SEEDS)
def test_fit_cases_stop_early_after_their_first_epoch_and_hold_awkward_batches(seed):
    for hidden in (False, True):
        cases = fit11.fit_cases(hidden, seed)
        stopping = [c for c in cases if c.patience]
        assert len(stopping) == (2 if hidden else 1)
        for case in stopping:
            history, _ = fit11.reference_fit(case)
            assert 1 <= history["best_epoch"] < len(history["val_loss"]) - 1 < case.epochs - 1
        assert any(len(c.X) % c.batch_size for c in cases)
        assert any(c.weight_decay for c in cases)
    hidden = fit11.fit_cases(True, seed)
    assert any(c.batch_size == 1 for c in hidden) and any(c.batch_size > len(c.X) for c in hidden)


# ------------------------------------------------------------------ notebook 12
def test_unbroadcast_cases_hold_a_batch_of_one_a_scalar_and_a_middle_axis():
    cases = _unbroadcast_cases(True, np.random.default_rng(0))
    shapes = [(g.shape, s) for _, g, s in cases]
    assert ((1, 3), (3,)) in shapes and ((6,), ()) in shapes and ((2, 3, 4), (3, 1)) in shapes
    assert ((1, 3), (1, 3)) in shapes  # a length-1 axis that must not be summed


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_graph_cases_hold_every_catalogued_structure_and_distinct_nodes(seed):
    for hidden in (False, True):
        cases = graph12.graph_cases(hidden, seed)
        structure = {bug: False for bug, _ in graph12.VARIANTS}
        for case in cases:
            root = case.build(case.leaves())
            nodes = graph12._nodes(root)
            assert graph12._is_topological(nodes) and nodes[-1] is root
            keys = {(n.data.shape, n.data.tobytes()) for n in nodes}
            assert len(keys) == len(nodes), f"two nodes hold the same values in {case.label}"
            expected = case.expected()
            for bug, variant in graph12.VARIANTS:
                try:
                    wrong = graph12._passes(case, variant)
                except ValueError:  # a share that cannot be added: it shows too
                    structure[bug] = True
                    continue
                structure[bug] |= not all(graph12._same_grads(w, expected) for w in wrong)
        assert all(structure.values()), structure  # every engine bug shows on some graph, visible ones included


@settings(max_examples=10, deadline=None)
@given(SEEDS)
def test_the_residual_reference_agrees_with_central_differences(seed):
    for _, params, X, Y in networks12._residual_cases(True, seed):
        _, grads = networks12._residual_expected(params, X, Y)
        params = {n: np.array(p) for n, p in params.items()}
        for name, p in params.items():
            def loss():
                leaves = {n: autodiff.Tensor(a) for n, a in params.items()}
                return float(networks12.reference_residual_loss(leaves, X, Y).data)
            assert rel_error(numerical_gradient(loss, p), grads[name]) < 1e-6


def test_what_notebook_12_says_about_the_engine_bugs():
    rows = {r["name"]: r for r in networks12.engine_bug_table(seed=0)}
    invisible = "0 (invisible)"
    assert rows["autodiff_overwrite_at_fan_out"]["mlp"] == invisible
    assert rows["autodiff_wrong_order"]["mlp"] == invisible
    assert all(r["residual"] != invisible for r in rows.values())
    assert rows["autodiff_broadcast_not_summed"]["mlp"] == "wrong shape"
