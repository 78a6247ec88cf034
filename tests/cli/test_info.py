"""``vaemf info``: the printed numbers match the file."""
from __future__ import annotations

import numpy as np

from napari_vaemf.cli import main


def test_info_on_a_spike_list(tmp_path, capsys):
    import scipy.io

    rows = np.array([[1, 0.05], [1, 0.31], [2, 0.02], [2, 1.5], [2, 1.99]])
    scipy.io.savemat(tmp_path / "s.mat", {"spks": rows})
    assert main(["info", str(tmp_path / "s.mat"), "--bin-size", "0.5", "--per-unit"]) == 0
    out = capsys.readouterr().out
    assert "units                   2" in out and "2 x 4 at 500 ms" in out
    assert "spikes                  5" in out and "duration                2.000 s" in out
    assert "mean rate               1.25 Hz per unit" in out  # 5 spikes / 2 units / 2 s
    assert "2\t3\t1.5" in out  # unit 2: 3 spikes in 2 s


def test_info_on_the_human_mtl_file(capsys, shared):
    assert main(["info", str(shared.need(shared.MTL)), "--bin-size", "0.02"]) == 0
    out = capsys.readouterr().out
    assert "35 x 141054 at 20 ms" in out and "214,278" in out


def test_info_on_a_bad_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.nwb"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    assert main(["info", str(bad)]) == 2
    assert "bad.nwb" in capsys.readouterr().err


def test_a_closed_pipe_is_not_an_error(tmp_path, monkeypatch):
    """`vaemf info FILE | head -1`: the reader leaves early; exit 0, no traceback."""
    import scipy.io

    scipy.io.savemat(tmp_path / "s.mat", {"spks": np.array([[1, 0.05], [2, 0.3]])})

    class ClosedPipe:
        def __init__(self, fd):
            self.fd = fd

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            return self.fd

    with open(tmp_path / "stdout", "wb") as fh:  # stands in for the pipe's file descriptor
        monkeypatch.setattr("sys.stdout", ClosedPipe(fh.fileno()))
        assert main(["info", str(tmp_path / "s.mat"), "--per-unit"]) == 0
