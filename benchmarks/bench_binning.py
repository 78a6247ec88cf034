"""Binning throughput: napari-vaemf's ``bin_spikes`` vs pynapple ``count`` and elephant ``BinnedSpikeTrain``.

The same synthetic spikes (``--spikes`` in total over ``--units`` units, uniform over
``--duration`` s, sorted per unit, seed 0) are binned at ``--bin-size`` s by each tool, each
in its own subprocess so memory is measured cleanly. Timed: the binning call only (building
pynapple's TsGroup / neo's SpikeTrains from the arrays is reported separately as setup).
Both wall and process CPU time are reported (CPU time is steadier on a shared machine; all
three tools bin on one thread). Peak memory: the peak resident memory above the level just before the call (psutil sampled
every 2 ms), and for napari-vaemf also tracemalloc's peak of new allocations, each divided
by the size of a uint8 output raster (units x bins bytes).

Needs the benchmark-only packages: ``pip install pynapple elephant`` (the ``bench`` extra).

    python benchmarks/bench_binning.py --spikes 1e8            # the issue's size
    python benchmarks/bench_binning.py --spikes 1e7 --repeat 3
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import numpy as np

TOOLS = ("vaemf", "pynapple", "elephant")


def make_spikes(n_units: int, n_spikes: int, duration: float, seed: int = 0):
    """Flat sorted-per-unit spike times (float64) and per-unit end offsets."""
    rng = np.random.default_rng(seed)
    per = np.full(n_units, n_spikes // n_units, dtype=np.int64)
    per[: n_spikes - per.sum()] += 1
    ends = np.cumsum(per)
    times = rng.uniform(0.0, duration, size=int(ends[-1]))
    for a, b in zip(np.concatenate([[0], ends[:-1]]), ends):
        times[a:b].sort()
    return times, ends


class PeakRSS:
    """Peak resident set size (bytes) above the level at entry, sampled in a thread."""

    def __enter__(self):
        import psutil

        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.extra = self.peak - self.base


def run_tool(tool: str, args) -> dict:
    times, ends = make_spikes(args.units, int(args.spikes), args.duration)
    n_bins = int(np.ceil(args.duration / args.bin_size - 1e-9))
    raster_bytes = args.units * n_bins
    res: dict = {"tool": tool, "spikes": int(times.size), "units": args.units, "bins": n_bins}
    t_setup = time.perf_counter()
    if tool == "vaemf":
        from napari_vaemf.core.recordings import SpikeTrains, bin_spikes

        data = SpikeTrains(times, ends)
        fn = lambda: bin_spikes(data, args.bin_size, 0.0, args.duration)  # noqa: E731
    elif tool == "pynapple":
        import pynapple as nap

        starts = np.concatenate([[0], ends[:-1]])
        data = nap.TsGroup({u: nap.Ts(t=times[a:b]) for u, (a, b) in enumerate(zip(starts, ends))})
        ep = nap.IntervalSet(0.0, args.duration)
        fn = lambda: data.count(args.bin_size, ep)  # noqa: E731
    else:
        import neo
        import quantities as pq
        from elephant.conversion import BinnedSpikeTrain

        starts = np.concatenate([[0], ends[:-1]])
        data = [neo.SpikeTrain(times[a:b], t_start=0.0, t_stop=args.duration, units="s")
                for a, b in zip(starts, ends)]
        fn = lambda: BinnedSpikeTrain(  # noqa: E731
            data, bin_size=args.bin_size * pq.s, t_start=0.0 * pq.s, t_stop=args.duration * pq.s)
    res["setup_s"] = time.perf_counter() - t_setup
    best = best_cpu = np.inf
    for _ in range(args.repeat):
        with PeakRSS() as mem:
            t, c = time.perf_counter(), time.process_time()
            out = fn()
            best = min(best, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.process_time() - c)
        res["peak_rss_ratio"] = min(res.get("peak_rss_ratio", np.inf), mem.extra / raster_bytes)
        total = _total(tool, out)
        del out
    res.update(seconds=best, cpu_seconds=best_cpu, spikes_per_s=times.size / best, counted=total)
    if tool == "vaemf":
        import tracemalloc

        tracemalloc.start()
        out = fn()
        res["tracemalloc_peak_ratio"] = tracemalloc.get_traced_memory()[1] / raster_bytes
        tracemalloc.stop()
        res["dtype"] = str(out.dtype)
    return res


def _total(tool: str, out) -> int:
    if tool == "vaemf":
        return int(out.sum(dtype=np.int64))
    if tool == "pynapple":
        return int(np.asarray(out.values).sum())
    return int(out.sparse_matrix.sum())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spikes", type=float, default=1e8, help="total spikes (default 1e8)")
    p.add_argument("--units", type=int, default=1000, help="units (default 1000)")
    p.add_argument("--duration", type=float, default=1000.0, help="seconds (default 1000)")
    p.add_argument("--bin-size", type=float, default=0.01, help="seconds (default 0.01)")
    p.add_argument("--repeat", type=int, default=1, help="timed calls per tool, best kept")
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of " + ",".join(TOOLS))
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_tool(args.child, args)))
        return 0
    results = []
    for tool in args.tools.split(","):
        cmd = [sys.executable, __file__, "--child", tool] + [
            a for a in (argv if argv is not None else sys.argv[1:]) if True
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            print(f"{tool}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if not results:
        return 1
    print(f"{int(args.spikes):.0e} spikes, {args.units} units, {args.duration:g} s at {args.bin_size * 1e3:g} ms "
          f"-> raster {args.units} x {results[0]['bins']}")
    print(f"{'tool':<10}{'setup s':>9}{'bin s':>9}{'cpu s':>9}{'Mspikes/s':>11}{'peak/raster':>13}{'counted':>13}")
    for r in results:
        print(f"{r['tool']:<10}{r['setup_s']:>9.2f}{r['seconds']:>9.3f}{r['cpu_seconds']:>9.3f}"
              f"{r['spikes_per_s'] / 1e6:>11.1f}{r['peak_rss_ratio']:>13.2f}{r['counted']:>13,}")
    ours = next((r for r in results if r["tool"] == "vaemf"), None)
    peers = [r for r in results if r["tool"] != "vaemf"]
    if ours:
        print(f"vaemf: dtype {ours['dtype']}, tracemalloc peak / raster = {ours['tracemalloc_peak_ratio']:.3f}")
        for r in peers:
            print(f"speed-up over {r['tool']}: {r['seconds'] / ours['seconds']:.1f}x wall, "
                  f"{r['cpu_seconds'] / ours['cpu_seconds']:.1f}x cpu")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
