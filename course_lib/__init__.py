"""course_lib: the reference implementation every notebook and grader compares against.

Modules: activations, losses, affine (the building blocks); mlp (the syllabus's
two-layer network); layers (any depth); gradcheck; bugs (the catalogue of
common bugs); data; train; plots.

For notebooks 09-12: binary_cross_entropy, batchnorm, dropout (more layers);
init (He, Glorot, LeCun...), diagnostics (dead units, per-layer statistics);
optim (SGD, momentum, Adam, schedules), weight_decay, and train.fit;
autodiff (a small reverse-mode engine); experiments (the explorer's deep runs);
bugs_layers, bugs_training, bugs_autodiff (their catalogue entries' variants and checks).
"""
from .activations import (leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid, sigmoid_backward, tanh,
                          tanh_backward)
from .affine import affine_backward, affine_forward
from .gradcheck import grad_check, numerical_gradient, rel_error
from .losses import accuracy, cross_entropy, log_softmax, one_hot, softmax, softmax_cross_entropy_backward

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "tanh", "tanh_backward", "sigmoid",
    "sigmoid_backward", "affine_forward", "affine_backward", "softmax", "log_softmax", "cross_entropy",
    "softmax_cross_entropy_backward", "one_hot", "accuracy", "grad_check", "numerical_gradient", "rel_error",
]
