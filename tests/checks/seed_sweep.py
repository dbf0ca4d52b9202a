"""Evidence that hidden verdicts do not depend on the seed (run by hand; the test suite uses fewer seeds).

    .venv/bin/python tests/checks/seed_sweep.py [--seeds 20] [--predict 1000] [--digits 25]

1. Every corpus entry is judged hidden on SEEDS different seeds (a quarter of them 32-bit); for each
   exercise it prints how many entries got the same (status, bug) on every seed, and lists any that did not.
2. predict with an unshifted softmax on PREDICT seeds: how often it fails, and how often it is named.
3. The instructor's train_digits on DIGITS hidden seeds: the test accuracy on each.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from checks_harness import E, FAILED, judge, namespace  # noqa: E402
from test_corpus import CORPUS  # noqa: E402

from course_lib import checks, mlp  # noqa: E402
from course_lib.checks import silenced  # noqa: E402
from course_lib.checks.digits import digits_setting  # noqa: E402


def seeds(n: int) -> list[int]:
    rng = np.random.default_rng(20260101)
    small = list(range(n - n // 4))
    large = [int(v) for v in rng.integers(2**31, 2**32, size=n // 4)]
    return small + large


def verdicts(n: int) -> None:
    by_exercise = defaultdict(lambda: [0, 0])
    unstable = []
    for entry in CORPUS:
        got = {(o.status, o.bug) for o in (judge(entry, hidden=True, seed=s) for s in seeds(n))}
        stable = len(got) == 1 and got == {(entry.status, entry.bug)}
        by_exercise[entry.exercise][0] += 1
        by_exercise[entry.exercise][1] += stable
        if not stable:
            unstable.append((entry.id, got))
    print(f"verdicts on {n} hidden seeds (same status and bug on every seed, equal to the expected one):")
    for exercise, (total, same) in by_exercise.items():
        print(f"  {exercise:<32} {same:>3} of {total:>3} entries")
    total = sum(t for t, _ in by_exercise.values())
    print(f"  {'all':<32} {total - len(unstable):>3} of {total:>3}")
    for entry_id, got in unstable:
        print(f"  NOT STABLE: {entry_id}: {sorted(got, key=str)}")


def predict_unshifted(n: int) -> None:
    entry = E("predict", "unshifted", FAILED, "unstable_softmax", "", '''
def predict(params, X):
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    E = np.exp(A1 @ params["W2"] + params["b2"])
    return np.argmax(E / E.sum(axis=1, keepdims=True), axis=1)
''')
    outcomes = [judge(entry, hidden=True, seed=s) for s in range(n)]
    caught = sum(not o.passed for o in outcomes)
    named = sum(o.bug == "unstable_softmax" for o in outcomes)
    print(f"predict with an unshifted softmax, seeds 0..{n - 1}: fails on {caught}, named unstable_softmax on {named}")


def digits(n: int) -> None:
    train_digits = namespace(6)["train_digits"]
    accuracies = []
    for seed in seeds(n):
        split, order, train_seed, _ = digits_setting(True, seed)
        with silenced():
            params, _ = train_digits(split.X_train[:, order], split.y_train, seed=train_seed)
            checks.check_train_digits(train_digits, hidden=True, seed=seed)  # raises if below the target
        accuracies.append(float(np.mean(mlp.predict(params, split.X_test[:, order]) == split.y_test)))
    acc = np.array(accuracies)
    print(f"instructor's train_digits on {n} hidden seeds: min {acc.min():.2%}, mean {acc.mean():.2%}, "
          f"max {acc.max():.2%} (target 95%)")
    print("  " + ", ".join(f"{a:.1%}" for a in acc))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--predict", type=int, default=1000)
    parser.add_argument("--digits", type=int, default=25)
    args = parser.parse_args()
    start = time.time()
    verdicts(args.seeds)
    predict_unshifted(args.predict)
    digits(args.digits)
    print(f"({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
