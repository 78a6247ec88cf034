"""docs/results/scale.md from results/bench_streaming_fit.json and results/bench_dask_sweep.json
(called by make_results_pages.py).

``page(h)`` takes the helpers of make_results_pages (``table``, ``f``, ``commands``,
``source``, ``header``, ``load``, ``RESULTS``) as a dict, so the two stay one generator.
"""
from __future__ import annotations

STREAM = "bench_streaming_fit.json"
DASK = "bench_dask_sweep.json"


def _streaming(h: dict) -> str:
    d = h["load"](STREAM)
    f, table = h["f"], h["table"]
    s, full, mem, st = d["session"], d["full_streamed"], d["slice_in_memory"], d["slice_streamed"]
    out = ["## A Neuropixels-sized session fitted from bits\n\n",
           f"A synthetic NWB session of {s['units']:,} Poisson units over {s['hours']:g} h "
           f"({s['spikes']:,} spikes, {s['file_gb']:.2f} GB on disk), binned at 10 ms: "
           f"{s['bins']:,} bins, {s['cells']:,} cells, {s['dense_float32_gb']:.1f} GB as the "
           "dense float32 a fit would train on. `vaemf fit --latents 3 --epochs 2` keeps the "
           "spike times in the file (read one unit at a time), packs the raster one bit per "
           "cell and trains on batches drawn from the whole session; the first 1/16 of the "
           "session (`--t-stop`) is small enough to be fitted in memory, and is fitted both "
           "ways.\n\n"]
    rows = [
        ["whole session, streamed (`vaemf fit`)", f"{full['bins']:,}", "yes" if full["streamed"] else "no",
         f(full["peak_rss_mb"], 0), f(full["wall_seconds"], 0), f(full["train_seconds"], 1),
         f"{full['samples_per_second']:,.0f}", f(full["test_loglik_nats"], 4)],
        ["first 1/16, in memory (`vaemf fit --t-stop`)", f"{mem['bins']:,}", "yes" if mem["streamed"] else "no",
         f(mem["peak_rss_mb"], 0), f(mem["wall_seconds"], 0), f(mem["train_seconds"], 1),
         f"{mem['samples_per_second']:,.0f}", f(mem["test_loglik_nats"], 4)],
        ["first 1/16, streamed (Python API)", f"{mem['bins']:,}", "yes" if st["streamed"] else "no",
         "–", "–", f(st["train_seconds"], 1), f"{st['samples_per_second']:,.0f}",
         f(st["test_loglik_nats"], 4)],
    ]
    out.append(table(["fit", "bins", "streamed", "peak RSS (MB)", "wall (s)", "training (s)",
                      "samples / s", "held-out log-lik (IWAE)"], rows))
    ratio = d["throughput_ratio_slice_in_memory_over_full_streamed"]
    out.append(
        f"\nThroughput of the in-memory slice over the streamed session: {ratio:.2f}× "
        f"(the aim: at most 1.5×). The slice's streamed and in-memory fits differ by "
        f"{d['slice_loglik_difference_nats']:.2g} nats/bin held out (the same batches in the "
        f"same order). latents.npy holds {full['latents_rows']:,} rows, one per bin. Peak RSS is "
        "the whole `vaemf fit` process, imports included (`ru_maxrss`). The wall time includes "
        "reading and packing the file, training, the held-out IWAE evaluation "
        "(128 importance samples per bin) and the latents of every bin. The engine: "
        f"{full['method']} ({full['engine_reason']}).\n\n")
    out.append(h["commands"](STREAM) + "\n" + h["source"](STREAM) + "\n")
    return "".join(out)


def _dask(h: dict) -> str:
    d = h["load"](DASK)
    f, table = h["f"], h["table"]
    out = ["\n## A capacity sweep on a 2-worker Dask LocalCluster\n\n",
           f"{d['fits']} VAE fits of a capacity sweep (Curie-Weiss N = 64), serial at one thread "
           f"against a LocalCluster of {d['workers']} worker processes with one thread each.\n\n"]
    rows = [["serial, wall (s)", f(d["serial_seconds"], 1)], [f"Dask local:{d['workers']}, wall (s)", f(d["dask_seconds"], 1)],
            ["ratio Dask / serial", f(d["ratio_dask_over_serial"], 2)
             + (f" (median of {d['repeats']} pairs: {', '.join(f(r, 2) for r in d['ratios'])})"
                if d.get("repeats", 1) > 1 else "")],
            ["largest per-fit held-out log-lik difference", f"{d['max_abs_loglik_difference']:.2g}"],
            ["same verdict", "yes" if d["same_verdict"] else "no"]]
    for key, label in (("serial_task_seconds", "sum of the fits' training times, serial (s)"),
                       ("dask_task_seconds", "sum of the fits' training times on the workers (s)")):
        if key in d:
            rows.append([label, f(d[key], 1)])
    out.append(table(["", "value"], rows))
    if "dask_task_seconds" in d:
        slower = d["dask_task_seconds"] / d["serial_task_seconds"] - 1
        out.append(
            f"\nThe fits' training times on the workers add up to {100 * (1 + slower):.0f} % of "
            "the same fits' one after the other here. Three things had made them slower (up to "
            "20-40 %), each measured and removed: Dask starts workers "
            "with `MALLOC_TRIM_THRESHOLD_=65536`, which also turns off glibc's adaptive mmap "
            "threshold, so every tensor above 128 KiB was an mmap/munmap pair (5-17 % system "
            "time while the fits ran, fits up to 20 % slower; the sweep's cluster unsets it); the "
            "workers' statistical profiler (20-40 %; off); and the scheduler's and nannies' "
            "housekeeping in the main process (7 s of CPU in a 71 s sweep at Dask's default "
            "intervals, 0.7 s at the sweep's). No fit on a worker pays a one-time cost either: "
            "torch's own Adam imported torch._dynamo when made (1.5-2.3 s per process), and every "
            "fit uses vaemf's (the same updates to the bit). The sweep fits K = 1 and K = 2 in one "
            "stage, larger K first (submitted first: priority alone let the scheduler start two "
            "K = 1 fits), and hands each worker one fit at a time (worker saturation 1.0). Its "
            "workers are forked from the sweep's process (Linux, no Qt, Python < 3.12): spawned, "
            "each imported torch and vaemf again, and the cluster took 1.7 s to start and 0.6 s "
            "to close; forked, 0.2 s and 0.03 s. What is left of the Dask time beyond half the "
            "serial one is the sweep's end, where one worker runs the last fit alone while the "
            "other has none left: fits take 8-15 s here and which one ends last is not known in "
            "advance, so the pairs' ratios spread over "
            f"{min(d['ratios']):.2f}-{max(d['ratios']):.2f}" + "; the machine's speed also "
            "drifts by up to 30 % between minutes, which moves the serial and the Dask run of a "
            "pair apart.\n")
    out.append("\n" + h["commands"](DASK) + "\n" + h["source"](DASK) + "\n")
    return "".join(out)


def page(h: dict) -> str:
    """The page's markdown."""
    out = [h["header"]("Scale: long sessions and many fits",
                       "How vaemf behaves beyond one small recording on one core: a session "
                       "too large to hold densely, and a sweep's fits spread over worker "
                       "processes. See also the guide, [Many fits, many recordings](../scale.md).")]
    out.append("\n")
    if (h["RESULTS"] / STREAM).exists():
        out.append(_streaming(h))
    if (h["RESULTS"] / DASK).exists():
        out.append(_dask(h))
    return "".join(out)
