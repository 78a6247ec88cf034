"""The size rule: the sub-lattice of the same configurations as the second system size."""
import numpy as np
import pytest

from napari_vaemf.core.capacity import CapacityReport, CapacitySettings, capacity_sweep
from napari_vaemf.core.capacity._estimate import MIEstimate
from napari_vaemf.core.capacity._report import SweepPoint
from napari_vaemf.core.capacity._sizes import compare_sizes, sublattice
from napari_vaemf.core.progress import drive

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sublattice_is_the_corner_block_of_each_configuration():
    x = np.arange(2 * 16).reshape(2, 16)  # two 4x4 lattices, row-major
    sub = sublattice(x, 4, 2)
    assert sub.tolist() == [[0, 1, 4, 5], [16, 17, 20, 21]]


def _report(n, mi, lo, hi, rate):
    point = SweepPoint(1, 0, rate, [rate], 1, -float(n), -float(n))
    est = MIEstimate(mi, lo, hi, "plugin", "lower bound", "lattice-vertical")
    return CapacityReport([point], [est], 1, True, 0.05, reasons=[])


def test_size_rule_fires_only_when_mi_and_rate_both_grow_and_names_itself():
    small, large = _report(64, 1.0, 0.9, 1.1, 1.0), _report(256, 2.0, 1.9, 2.1, 2.0)
    out = compare_sizes({64: small, 256: large})
    assert out["mi_grows"] and out["rate_grows"]
    assert small.mean_field and not large.mean_field
    assert large.rules_fired() == ["Size rule"] and "Size rule" in large.verdict()
    # the MI grows but the needed rate does not: the rule does not fire
    small, large = _report(64, 1.0, 0.9, 1.1, 2.0), _report(256, 2.0, 1.9, 2.1, 2.0)
    out = compare_sizes({64: small, 256: large})
    assert out["mi_grows"] and not out["rate_grows"] and large.mean_field


def test_a_lattice_sweep_also_sweeps_its_half_side_sublattice(tmp_path):
    """A (8, 8) layout: the report carries the 4x4 sub-lattice comparison of the same rows."""
    rng = np.random.default_rng(0)
    x = np.where(rng.random((600, 64)) < 0.5, -1, 1).astype(np.int8)
    st = CapacitySettings(k_max=2, seeds=1, infonce=False, random_partitions=1,
                          model_mi=False, epochs=4, layout=(8, 8))
    report = drive(capacity_sweep(x, "spin", settings=st), bar=False)
    sizes = report.to_json()["sizes"]
    assert sizes["sizes"] == [16, 64] and "4x4 sub-lattice" in sizes["rule"]
    assert sizes["sub_engine"] == "exact" and len(sizes["mi"]) == 2
    # independent spins: nothing grows, the rule does not fire
    assert not (sizes["mi_grows"] and sizes["rate_grows"])
    assert "Size rule" not in report.rules_fired()
