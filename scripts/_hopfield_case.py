"""The Hopfield case of the theory page's checks, defined once: N = 100, P = 3, β = 1.4;
50,000 training and 20,000 test samples of the same patterns (seeds 1301, 1302)."""
from __future__ import annotations

N, P, BETA, TRAIN, TEST = 100, 3, 1.4, 50000, 20000
PARAMETERS = {"n": N, "patterns": P, "beta": BETA, "train": TRAIN, "test": TEST}


def samples(**sampler):
    """(training, test) sample results of the case; ``sampler`` options go to both."""
    from napari_vaemf.core.progress import drive
    from napari_vaemf.core.samplers import sample_hopfield

    train = drive(sample_hopfield(N, P, BETA, samples=TRAIN, seed=1301, **sampler), bar=False)
    test = drive(sample_hopfield(N, P, BETA, samples=TEST, seed=1302,
                                 patterns=train.truth["patterns"], **sampler), bar=False)
    return train, test
