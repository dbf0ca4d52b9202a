"""Checkers for notebook 11's ``EarlyStopping`` and its training loop ``fit``, against
:mod:`course_lib.train`.

``EarlyStopping`` is fed sequences of validation losses (ties, improvements below min_delta, NaN) while
the parameters it is given move in place, as training moves them. ``fit`` is handed the course's own
optimizer and early-stopping objects and must replay the run of :func:`reference_fit` (the loop of
:func:`course_lib.train.fit`, with the notebook's history) step for step. It draws its batches with the
student's own ``minibatches``, whose test holds it to rng.permutation's draw, the reference's
(:func:`course_lib.train.minibatches`); a generator function of the course could not be iterated from
the grader's sandbox anyway (its generator would stay on the grader's side).
"""
from __future__ import annotations

import numpy as np

from .. import bugs_training, data, mlp, optim, train, weight_decay
from ..snapshot import copy_data
from .compare import check_array, describe
from .core import Finding, call, fail, finish, method, passed, quiet
from .recognise import Variant, first_match

__all__ = ["check_EarlyStopping", "check_fit", "reference_fit", "fit_cases"]


# ------------------------------------------------------------------ early stopping
_NAN = float("nan")


def _stopping_cases(hidden: bool) -> list[tuple[str, list, int, float]]:
    """(label, validation losses, patience, min_delta)."""
    cases = [("losses that fall, then rise, patience=2", [1.0, 0.8, 0.7, 0.75, 0.9, 1.1], 2, 0.0),
             ("a plateau, patience=3", [1.0, 0.9, 0.9, 0.85, 0.86, 0.85, 0.87, 0.9], 3, 0.0)]
    if hidden:
        cases += [("equal losses (a tie is not an improvement), patience=2", [0.5, 0.5, 0.5, 0.4], 2, 0.0),
                  ("improvements smaller than min_delta=0.05 do not count", [1.0, 0.97, 0.96, 0.93, 0.9, 0.89, 0.88],
                   3, 0.05),
                  ("patience=1", [1.0, 0.9, 0.95, 0.8], 1, 0.0),
                  ("an improvement resets the count, patience=2", [1.0, 1.1, 0.9, 1.0, 0.85, 0.95, 1.2, 1.3], 2, 0.0),
                  ("a NaN loss (a diverged epoch) never improves, patience=2", [1.0, _NAN, 0.9, _NAN, _NAN], 2, 0.0)]
    return cases


def _read(ex: str, obj, name: str, on: str):
    try:
        return getattr(obj, name)
    except AttributeError:
        fail(ex, f"the EarlyStopping object should have an attribute {name} (on {on}).",
             ["Keep best_loss, best_epoch and best_params on self; __init__ sets them to inf, -1 and None."], case=on,
             status="error")


def check_EarlyStopping(cls, hidden: bool = False, seed: int = 0):
    """cls(patience=5, min_delta=0.0) with update(val_loss, epoch, params) -> bool (stop now?) and the attributes
    best_loss, best_epoch and best_params (a copy of the parameters at the best epoch)."""
    ex = "EarlyStopping"
    rng = np.random.default_rng(seed + 41)
    cases = _stopping_cases(hidden)
    for label, losses, patience, min_delta in cases:
        on = label
        stopper = call(ex, cls, on=f"EarlyStopping(patience={patience}, min_delta={min_delta}) for {on}",
                       patience=patience, min_delta=min_delta).result
        update = method(ex, stopper, "update", on)
        reference = train.EarlyStopping(patience=patience, min_delta=min_delta)
        params = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}
        answers = []
        for epoch, loss in enumerate(losses):
            # Training moves the parameters in place between epochs: a stored reference would move with them.
            for p in params.values():
                p += 0.1 * rng.standard_normal(p.shape)
            want = reference.update(loss, epoch, params)
            got = call(ex, update, loss, epoch, params, on=f"epoch {epoch} of {on}", copy=False).result
            if not isinstance(got, (bool, np.bool_)):
                fail(ex, f"update should return True or False, got {describe(got)} (epoch {epoch} of {on}).",
                     ["Return the comparison itself, e.g. `return self.bad_epochs >= self.patience`."], case=on,
                     status="error")
            answers.append(bool(got))
            if bool(got) != want:
                history = ", ".join("nan" if v != v else f"{v:g}" for v in losses[:epoch + 1])
                fail(ex, f"after the validation losses [{history}] update should return {want}, got {describe(got)} "
                     f"({on}).", [_stopping_hint(losses[:epoch + 1], patience, min_delta, answers)], case=on)
            if want:
                break
        best_epoch, best_loss, best_params = (_read(ex, stopper, n, on) for n in ("best_epoch", "best_loss", "best_params"))
        findings = []
        if best_epoch != reference.best_epoch:
            findings.append(Finding(f"best_epoch should be {reference.best_epoch}, got {describe(best_epoch)} ({on}).",
                                    ["Record the epoch whenever the loss improves on the best by more than min_delta."]))
        findings.append(check_array(f"best_loss for {on}", np.float64(best_loss) if isinstance(best_loss, (int, float))
                                    else best_loss, np.float64(reference.best_loss)))
        if not isinstance(best_params, dict) or sorted(map(str, best_params)) != sorted(params):
            findings.append(Finding(f"best_params should be a dict with the keys of params, got {describe(best_params)} "
                                    f"({on}).", status="error"))
        else:
            wrong = [check_array(f"best_params[{n!r}] for {on}", best_params[n], reference.best_params[n])
                     for n in params]
            if any(wrong):
                moved = all(type(best_params[n]) is np.ndarray and best_params[n].shape == params[n].shape
                            and np.allclose(best_params[n], params[n]) for n in params)
                findings += wrong
                if moved:
                    findings.append(Finding("", ["best_params holds the current parameters, not those of the best "
                                                 "epoch: training changes the arrays in place, so keep copies "
                                                 "({n: p.copy() for n, p in params.items()}), not the dict or its "
                                                 "arrays themselves."]))
        finish(ex, findings, on)
    return passed(ex, len(cases))


def _stops(losses: list, patience: int, improves, resets: bool = True, late: bool = False) -> list[bool]:
    """What a stopper that decides improvement with ``improves(loss, best)`` returns after each loss."""
    best, bad, out = float("inf"), 0, []
    for loss in losses:
        if improves(loss, best):
            best, bad = loss, (0 if resets else bad)
        else:
            bad += 1
        out.append(bad > patience if late else bad >= patience)
    return out


def _stopping_hint(losses: list, patience: int, min_delta: float, answers: list) -> str:
    """The hint of the known mistake whose answers, epoch by epoch, are the student's."""
    d = min_delta
    mistakes = [
        ("A loss equal to the best is not an improvement: it must be smaller than best_loss - min_delta.",
         dict(improves=lambda v, b: v <= b - d)),
        ("A NaN loss is not an improvement: test `val_loss < best_loss - min_delta`, which is False for NaN, "
         "rather than its negation `val_loss >= best_loss - min_delta`, which is False for NaN too.",
         dict(improves=lambda v, b: not v >= b - d)),
        (f"An improvement must beat the best by more than min_delta = {d:g}: compare with best_loss - min_delta.",
         dict(improves=lambda v, b: v < b)),
        ("An improvement must set the count of epochs without improvement back to 0.",
         dict(improves=lambda v, b: v < b - d, resets=False)),
        (f"It stops one epoch late: return True as soon as the count reaches patience = {patience} (>=, not >).",
         dict(improves=lambda v, b: v < b - d, late=True)),
    ]
    right = _stops(losses, patience, lambda v, b: v < b - d)
    for hint, kwargs in mistakes:
        wrong = _stops(losses, patience, **kwargs)
        if wrong != right and wrong == answers:
            return hint
    return (f"Count the epochs since the last improvement (val_loss < best_loss - min_delta) and stop once that count "
            f"reaches patience = {patience}; an improvement sets the count back to 0.")


# ------------------------------------------------------------------ fit
class _FitCase:
    def __init__(self, label, params, X, Y, X_val, Y_val, make_optimizer, epochs, batch_size, seed, weight_decay=0.0,
                 patience=None):
        self.label, self.params, self.X, self.Y, self.X_val, self.Y_val = label, params, X, Y, X_val, Y_val
        self.make_optimizer, self.epochs, self.batch_size, self.seed = make_optimizer, epochs, batch_size, seed
        self.weight_decay, self.patience = weight_decay, patience


def reference_fit(case: _FitCase, penalty_gradient=weight_decay.l2_penalty_gradient) -> tuple[dict, dict]:
    """(history, the final params) of the run ``fit`` must make (with another L2 gradient, a variant's)."""
    params = copy_data(case.params)
    opt = case.make_optimizer()
    stopper = train.EarlyStopping(patience=case.patience) if case.patience else None
    history = {"train_loss": [], "val_loss": [], "update_ratio": [], "best_epoch": None}
    rng = np.random.default_rng(case.seed)
    for epoch in range(case.epochs):
        for rows in train.minibatches(len(case.X), case.batch_size, rng):
            _, cache = mlp.forward(params, case.X[rows])
            grads = weight_decay.add_weight_decay(mlp.backward(params, cache, case.Y[rows]), params, case.weight_decay,
                                                  penalty_gradient)
            history["update_ratio"].append(optim.update_to_weight_ratio(opt.step(params, grads), params))
        history["train_loss"].append(mlp.loss(params, case.X, case.Y))
        history["val_loss"].append(mlp.loss(params, case.X_val, case.Y_val))
        if stopper is not None and stopper.update(history["val_loss"][-1], epoch, params):
            break
    if stopper is not None:
        history["best_epoch"] = stopper.best_epoch
        for n, best in stopper.best_params.items():
            params[n][...] = best
    return history, params


def _blobs(rng, n_per_class: int, d1: int, half_wrong: bool = False):
    """(params, X, labels, X_val, labels_val) for three blobs in the plane; with ``half_wrong`` the second
    half of the validation labels is shifted to a wrong class."""
    X, y = data.blobs(n_per_class=n_per_class, classes=3, spread=1.0, seed=int(rng.integers(1 << 30)))
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    cut = int(0.6 * len(y))
    y_val = y[cut:].copy()
    if half_wrong:
        y_val[len(y_val) // 2:] = (y_val[len(y_val) // 2:] + 1) % 3
    params = mlp.init_params(2, d1, 3, seed=int(rng.integers(1 << 30)))
    return params, X[:cut], y[:cut], X[cut:], y_val


def _stopping_case(label: str, rng, weight_decay: float = 0.0, epochs: int = 15) -> _FitCase:
    """A run whose validation loss falls, then rises, so that early stopping ends it after its best epoch, 1 or
    later. Half the validation labels are wrong: the validation loss is lowest when the network is about half
    sure of each answer, which training passes on its way to certainty (about 70% of draws show it; drawn until
    one does)."""
    for _ in range(200):
        params, X, Y, X_val, Y_val = _blobs(rng, 10, 16, half_wrong=True)
        case = _FitCase(label, params, X, Y, X_val, Y_val, lambda: optim.Adam(0.01), epochs, 6, int(rng.integers(1000)),
                        weight_decay=weight_decay, patience=2)
        history, _ = reference_fit(case)
        if 1 <= history["best_epoch"] and len(history["val_loss"]) < epochs:
            return case
    raise RuntimeError("no run with early stopping found")  # pragma: no cover (tests show one is always found)


def fit_cases(hidden: bool, seed: int) -> list[_FitCase]:
    """Visible: SGD with a shorter last batch; Adam with weight decay and early stopping that stops the run.
    Hidden adds momentum with weight decay and batches of one, one batch larger than the data, and another
    stopped run."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 1109])
    p, X, Y, Xv, Yv = _blobs(rng, 15, 6)
    cases = [_FitCase("SGD(0.5), 27 examples in batches of 8 (the last has 3), 3 epochs", p, X, Y, Xv, Yv,
                      lambda: optim.SGD(0.5), 3, 8, int(rng.integers(1000)))]
    cases.append(_stopping_case("Adam(0.01), weight_decay=1e-3, early stopping with patience=2", rng, 1e-3))
    if hidden:
        p, X, Y, Xv, Yv = _blobs(rng, 5, 4)
        cases.append(_FitCase("Momentum(0.1, mu=0.9), weight_decay=0.01, batches of one, 2 epochs", p, X, Y, Xv, Yv,
                              lambda: optim.Momentum(0.1, mu=0.9), 2, 1, int(rng.integers(1000)), weight_decay=0.01))
        p, X, Y, Xv, Yv = _blobs(rng, 8, 5)
        cases.append(_FitCase("a batch larger than the data (one step per epoch), weight_decay=0.1", p, X, Y, Xv, Yv,
                              lambda: optim.Adam(0.02), 4, 50, int(rng.integers(1000)), weight_decay=0.1))
        cases.append(_stopping_case("another run that early stopping ends, patience=2, no weight decay", rng))
    return cases


def _history(ex: str, got, on: str) -> dict:
    keys = ["train_loss", "val_loss", "update_ratio", "best_epoch"]
    if not isinstance(got, dict) or not set(keys) <= set(map(str, got)):
        fail(ex, f"should return the history, a dict with the keys {keys}; got {describe(got)} (on {on}).",
             case=on, status="error")
    for k in ("train_loss", "val_loss", "update_ratio"):
        if not isinstance(got[k], (list, tuple)):
            fail(ex, f"history[{k!r}] should be a list, got {describe(got[k])} (on {on}).", case=on, status="error")
    return got


def check_fit(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X, Y, X_val, Y_val, optimizer, epochs, batch_size, seed=0, weight_decay=0.0, early_stopping=None)
    -> history {"train_loss", "val_loss" (per epoch), "update_ratio" (per step), "best_epoch"}; trains params in
    place (set back to the best epoch's with early stopping), exactly as course_lib.train.fit would."""
    ex = "fit"
    cases = fit_cases(hidden, seed)
    for case in cases:
        on = case.label
        with quiet():
            expected, final = reference_fit(case)
        stopper = train.EarlyStopping(patience=case.patience) if case.patience else None
        given = copy_data(case.params)
        arrays = dict(given)  # the caller's arrays: training must happen in them, not in new ones put in the dict
        done = call(ex, fn, given, case.X, case.Y, case.X_val, case.Y_val, case.make_optimizer(), case.epochs,
                    case.batch_size, seed=case.seed, weight_decay=case.weight_decay, early_stopping=stopper, on=on,
                    copy=False)
        got = _history(ex, done.result, on)
        findings = []
        for k in ("train_loss", "val_loss"):
            findings.append(check_array(f"history[{k!r}] for {on}", np.asarray(got[k], dtype=float)
                                        if all(isinstance(v, (int, float, np.floating)) for v in got[k]) else got[k],
                                        np.asarray(expected[k]), rtol=1e-9, atol=1e-12))
        ratios = got["update_ratio"]
        if len(ratios) != len(expected["update_ratio"]):
            findings.append(Finding(f"history['update_ratio'] should have one entry per step, "
                                    f"{len(expected['update_ratio'])}, got {len(ratios)} ({on}).",
                                    ["Append update_to_weight_ratio(updates, params) after every optimizer step."]))
        elif not all(isinstance(r, dict) and sorted(map(str, r)) == sorted(e)
                     for r, e in zip(ratios, expected["update_ratio"])):
            findings.append(Finding(f"each entry of history['update_ratio'] should be the dict update_to_weight_ratio "
                                    f"returns, one ratio per parameter ({on}).", status="error"))
        else:
            names = sorted(case.params)
            findings.append(check_array(f"history['update_ratio'] for {on} (steps by parameters {names})",
                                        np.array([[float(r[n]) for n in names] for r in ratios]),
                                        np.array([[e[n] for n in names] for e in expected["update_ratio"]]),
                                        rtol=1e-8, atol=1e-12))
        if got["best_epoch"] != expected["best_epoch"]:
            findings.append(Finding(f"history['best_epoch'] should be {expected['best_epoch']}, got "
                                    f"{describe(got['best_epoch'])} ({on}).",
                                    ["With early stopping, record early_stopping.best_epoch; without it, None."]))
        if not any(findings):
            findings += [check_array(f"params[{n!r}] after training, {on}", arrays[n], final[n], rtol=1e-8, atol=1e-12)
                         for n in final]
            if any(findings) and all(type(given.get(n)) is np.ndarray and given[n].shape == final[n].shape
                                     and np.allclose(given[n], final[n], rtol=1e-8, atol=1e-12) for n in final):
                fail(ex, f"the best epoch's parameters were put into the params dict as new arrays ({on}); the "
                            "arrays the caller passed in (a network's layers hold them) keep the last epoch's values.",
                            ["Copy into the arrays themselves: params[name][...] = best."], case=on)
        if any(findings):
            findings.append(_fit_diagnosis(case, got, expected))
        finish(ex, findings, on)
    return passed(ex, len(cases))


def _fit_diagnosis(case: _FitCase, got: dict, expected: dict) -> Finding | None:
    """What a run that does not replay the reference did differently, when a known variant explains it."""
    losses = got["train_loss"]
    with quiet():
        variants = [Variant("The weight decay reaches the biases too: add l2_penalty_gradient's entries, which exist "
                            "for the weights only (section 11.2).",
                            lambda: reference_fit(case, bugs_training.l2_penalty_gradient_with_biases)[0]["train_loss"],
                            "weight_decay_on_biases"),
                    Variant("The weight decay is twice too strong: its gradient is lam * W, not 2 lam W (section 11.2).",
                            lambda: reference_fit(case, bugs_training.l2_penalty_gradient_doubled)[0]["train_loss"],
                            "l2_gradient_doubled")]
        match = first_match(list(map(float, losses)) if all(isinstance(v, (int, float, np.floating)) for v in losses)
                            else losses, [v for v in variants if case.weight_decay], expected["train_loss"])
    if match is not None:
        return Finding("", [match.hint], match.bug)
    return Finding("", ["Replay the run exactly: one rng = np.random.default_rng(seed) before the first epoch, "
                        "minibatches(len(X), batch_size, rng) every epoch, the L2 gradient added to the data "
                        "gradients, optimizer.step, then the losses of the whole training and validation sets."])
