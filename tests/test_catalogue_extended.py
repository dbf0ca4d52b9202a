"""The catalogue's entries for notebooks 09-12: every variant is a working stand-in for its
reference, the check each names catches it and passes the reference, and the section-5
catalogue (and everything that iterates it) is exactly as before."""
import inspect

import numpy as np
import pytest

from course_lib import autodiff, bugs, data, mlp
from course_lib.gradcheck import numerical_gradient_array, rel_error

EXTENDED = list(bugs.EXTENDED_CATALOGUE.values())


def test_the_section_5_catalogue_is_unchanged():
    assert list(bugs.CATALOGUE) == ["wrong_transpose", "missing_batch_average", "bias_gradient_averaged", "stale_cache",
                                    "unstable_softmax", "relu_mask_from_activation", "relu_mask_from_gradient",
                                    "in_place_cache_mutation"]
    assert all(b.in_two_layer_network and b.section.startswith("5.") for b in bugs.CATALOGUE.values())
    assert bugs.get("wrong_transpose").reference is mlp.affine_backward
    assert bugs.get("stale_cache").reference is mlp.forward


def test_extended_entries_are_complete_and_found_by_name_and_target():
    assert not set(bugs.CATALOGUE) & set(bugs.EXTENDED_CATALOGUE)
    assert len(EXTENDED) == 12
    for bug in EXTENDED:
        assert bug.section.split(".")[0] in {"9", "10", "11", "12"} and bug.title and bug.description
        assert not bug.in_two_layer_network and callable(bug.variant) and callable(bug.reference)
        assert hasattr(bugs, bug.caught_by)
        assert bugs.get(bug.name) is bug and bug in bugs.for_target(bug.target)
    assert {b.name for b in bugs.in_section("9.")} == {"bce_saturated_probabilities", "batchnorm_no_variance_path",
                                                      "dropout_mask_redrawn", "dropout_not_rescaled"}
    assert len(bugs.in_section("12.")) == 4 and bugs.for_target("affine_backward") == [
        bugs.get("wrong_transpose"), bugs.get("bias_gradient_averaged")]


@pytest.mark.parametrize("bug", EXTENDED, ids=lambda b: b.name)
def test_each_variant_has_its_references_signature(bug):
    ref, var = bug.reference, bug.variant
    if inspect.isclass(ref):
        assert issubclass(var, ref)  # an optimizer: same constructor, one method overridden
    else:
        assert list(inspect.signature(var).parameters) == list(inspect.signature(ref).parameters)


@pytest.mark.parametrize("bug", EXTENDED, ids=lambda b: b.name)
def test_the_named_check_catches_the_variant_and_passes_the_reference(bug):
    check = getattr(bugs, bug.caught_by)
    caught = check(bug.variant)
    assert not caught and caught.name == bug.caught_by and caught.message
    assert check(bug.reference), check(bug.reference).message


@pytest.mark.parametrize("bug", EXTENDED, ids=lambda b: b.name)
def test_extended_bugs_refuse_to_be_injected_into_the_two_layer_network(bug):
    with pytest.raises(ValueError, match="not the two-layer network"):
        bug.network()
    with pytest.raises(ValueError, match="not the two-layer network"):
        bug.ops()


def test_dropout_not_rescaled_passes_a_gradient_check():
    # Why it needs a check of its own: its forward and backward agree with each other.
    from course_lib.dropout import dropout_backward
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    variant = bugs.get("dropout_not_rescaled").variant
    _, cache = variant(x, 0.5, "train", 3)
    numeric = numerical_gradient_array(lambda: variant(x, 0.5, "train", 3)[0], x, dout)
    assert rel_error(dropout_backward(dout, cache), numeric) < 1e-9


@pytest.mark.parametrize("name", ["autodiff_overwrite_at_fan_out", "autodiff_wrong_order", "autodiff_grad_not_reset"])
def test_these_autodiff_bugs_are_invisible_on_the_syllabus_network(name):
    # No node of the two-layer network is used twice, it is a chain, and one backward pass starts
    # from fresh leaves: the three bugs give exactly the right gradients there.
    params = mlp.init_params(5, 4, 3, seed=0)
    X, Y = data.tiny_batch()
    _, expected = autodiff.value_and_grad(autodiff.mlp_loss, params, X, Y)
    leaves = {k: autodiff.Tensor(v, requires_grad=True) for k, v in params.items()}
    bugs.get(name).variant(autodiff.mlp_loss(leaves, X, Y))
    assert all(np.array_equal(leaves[k].grad, expected[k]) for k in params)


def test_the_broadcast_bug_shows_on_the_syllabus_network_as_a_bias_of_the_batch_shape():
    params = mlp.init_params(5, 4, 3, seed=0)
    X, Y = data.tiny_batch()
    leaves = {k: autodiff.Tensor(v, requires_grad=True) for k, v in params.items()}
    bugs.get("autodiff_broadcast_not_summed").variant(autodiff.mlp_loss(leaves, X, Y))
    assert leaves["b1"].grad.shape == (8, 4) and leaves["W1"].grad.shape == (5, 4)
