"""The class report's "answers that look copied": a real copy is listed, honest convergence is not.

Backpropagation written plainly looks the same in every student's hands once names are
normalised, so the answers many students share must never be listed; two students sharing an
answer nobody else wrote must be.
"""
from grader.publish import similarity

STUB = '''def backward(params, cache, Y):
    """Gradients of the mean cross entropy. Returns {"W1", "b1", "W2", "b2"}."""
    # YOUR CODE HERE
    raise NotImplementedError()'''

# The textbook backward pass, in the names different students pick.
PLAIN = '''def backward(params, cache, Y):
    """Gradients of the mean cross entropy. Returns {{"W1", "b1", "W2", "b2"}}."""
    N = Y.shape[0]
    {d2} = (cache["Yhat"] - Y) / N
    {w2} = cache["A1"].T @ {d2}
    {b2} = {d2}.sum(axis=0)
    {a1} = {d2} @ params["W2"].T
    {d1} = {a1} * (cache["Z1"] > 0)
    {w1} = cache["X"].T @ {d1}
    {b1} = {d1}.sum(axis=0)
    return {{"W1": {w1}, "b1": {b1}, "W2": {w2}, "b2": {b2}}}'''

NAMES = ["dZ2 dW2 db2 dA1 dZ1 dW1 db1", "g2 gw2 gb2 ga1 g1 gw1 gb1", "delta2 grad_W2 grad_b2 dhidden delta1 grad_W1 grad_b1",
         "dz2 dw2 db2 da1 dz1 dw1 db1", "e2 w2g b2g a1g e1 w1g b1g", "D2 DW2 DB2 DA1 D1 DW1 DB1",
         "s2 sw2 sb2 sa1 s1 sw1 sb1", "t2 tw2 tb2 ta1 t1 tw1 tb1"]

# An unusual answer (a loop over the two layers, written one way): shared by exactly two students.
UNUSUAL = '''def backward(params, cache, Y):
    """Gradients of the mean cross entropy. Returns {"W1", "b1", "W2", "b2"}."""
    out, upstream = {}, (cache["Yhat"] - Y) / len(Y)
    for layer, inputs in ((2, cache["A1"]), (1, cache["X"])):
        out[f"W{layer}"] = np.einsum("ni,nj->ij", inputs, upstream)
        out[f"b{layer}"] = np.einsum("nj->j", upstream)
        if layer == 2:
            upstream = np.einsum("nj,ij->ni", upstream, params["W2"]) * np.heaviside(cache["Z1"], 0.0)
    return {k: out[k] for k in ("W1", "b1", "W2", "b2")}'''


def _plain(names: str) -> str:
    d2, w2, b2, a1, d1, w1, b1 = names.split()
    return PLAIN.format(d2=d2, w2=w2, b2=b2, a1=a1, d1=d1, w1=w1, b1=b1)


def _class(extra: dict) -> dict:
    answers = {f"student{i}": _plain(n) for i, n in enumerate(NAMES)}
    answers.update(extra)
    return answers


def test_many_students_writing_the_textbook_answer_are_not_listed():
    matches = similarity.compare("03_backward", "backward", _class({}), STUB, {"the published solution": _plain(NAMES[0])})
    assert matches == []


def test_two_students_sharing_an_unusual_answer_are_listed():
    renamed = UNUSUAL.replace("upstream", "g").replace("inputs", "a").replace("layer", "k")
    answers = _class({"ana": UNUSUAL, "ben": renamed})
    matches = similarity.compare("03_backward", "backward", answers, STUB, {})
    assert [(m.first, m.second) for m in matches] == [("ana", "ben")]
    assert matches[0].similarity >= similarity.THRESHOLD


def test_a_copy_of_course_code_written_nowhere_else_is_listed():
    reference = UNUSUAL.replace("def backward(params, cache, Y):", "def backward(params, cache, Y, ops=None):")
    answers = _class({"cal": UNUSUAL})
    matches = similarity.compare("03_backward", "backward", answers, STUB, {"course_lib.mlp.backward": reference})
    assert [(m.first, m.second) for m in matches] == [("cal", "course_lib.mlp.backward")]


def test_the_stub_and_short_answers_never_count():
    short = STUB.replace("raise NotImplementedError()", "return mlp_backward(params, cache, Y)")
    matches = similarity.compare("03_backward", "backward", {"a": short, "b": short}, STUB, {})
    assert matches == []
    assert similarity._answer_text(_plain(NAMES[0]), STUB).count("Gradients of the mean") == 0


def test_a_submission_s_solution_cells_are_read_as_nbformat_reads_them(tmp_path):
    """The report reads format-4 submissions as plain JSON (nbformat's validation was half its time):
    every demo submission, the format-3 one included, gives the cells nbformat.read gives."""
    import json
    from pathlib import Path

    import nbformat

    demo = Path(__file__).resolve().parent.parent / "grader" / "demo" / "submissions"
    seen = 0
    for path in sorted(demo.rglob("*.ipynb")):
        try:
            expected = similarity._solution_cells(nbformat.read(path, as_version=4))
        except Exception:  # noqa: BLE001  (a broken file: the report skips it either way)
            continue
        assert similarity._submitted_solution_cells(path) == expected, path
        seen += bool(expected)
    assert seen > 50
    # Sources written as lists of lines (as Jupyter writes them) are joined as nbformat joins them.
    nb = json.loads(next(demo.rglob("perfect/03_backward/*.ipynb")).read_text())
    for c in nb["cells"]:
        c["source"] = c["source"].splitlines(keepends=True) if isinstance(c["source"], str) else c["source"]
    listed = tmp_path / "listed.ipynb"
    listed.write_text(json.dumps(nb))
    assert similarity._submitted_solution_cells(listed) == similarity._solution_cells(nbformat.read(listed, 4))
    assert similarity._submitted_solution_cells(listed)
