"""The aligned latents as a figure: mean ± s.e.m. of each latent per group (PNG and widget)."""
from __future__ import annotations

import textwrap

import numpy as np

from ._align import Aligned

__all__ = ["GROUP_COLORS", "draw_aligned", "plot_aligned", "group_legend"]

# one colour per group, the same in the figure, the widget and the layers (tab10)
GROUP_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"]


def group_color(i: int) -> str:
    return GROUP_COLORS[i % len(GROUP_COLORS)]


def group_legend(aligned: Aligned) -> list[str]:
    """"<label> (n=<trials>)" per group."""
    return [f"{lab} (n={n})" for lab, n in zip(aligned.labels, aligned.group_sizes())]


def draw_aligned(aligned: Aligned, axes) -> None:
    """One axes per latent (as many as given): each group's mean, shaded ± s.e.m., and the
    event time as a dashed line. Draws on existing axes (the widget's canvas or a figure)."""
    mean, sem = aligned.mean_sem()
    t = aligned.rel_time
    names = group_legend(aligned)
    s = aligned.settings
    for k, ax in enumerate(axes):
        if k >= mean.shape[2]:
            ax.set_visible(False)
            continue
        for g in range(len(aligned.groups)):
            if not np.isfinite(mean[g, 0, k]):
                continue
            c = group_color(g)
            ax.plot(t, mean[g, :, k], color=c, lw=1.3, label=names[g])
            ax.fill_between(t, mean[g, :, k] - sem[g, :, k], mean[g, :, k] + sem[g, :, k],
                            color=c, alpha=0.25, lw=0)
        ax.axvline(0.0, color="0.5", ls="--", lw=0.8)
        ax.set_ylabel(f"z{k}", fontsize=8)
        if k == 0:
            by = f" by {s.by}" if s.by else ""
            ax.set_title(f"{aligned.table}: latents around {s.time}{by}", fontsize=9)
    shown = [ax for k, ax in enumerate(axes) if k < mean.shape[2]]
    if shown:
        shown[-1].set_xlabel(f"time from {s.time} (s)", fontsize=8)
        if len(aligned.groups) > 1:
            shown[0].legend(fontsize=7, title=s.by, title_fontsize=7)


def plot_aligned(aligned: Aligned, path, max_latents: int = 8) -> None:
    """Write the figure of :func:`draw_aligned` (one panel per latent, up to ``max_latents``)
    with the grouping column's description underneath."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = min(max_latents, aligned.latents.shape[2])
    fig = Figure(figsize=(6.4, 1.2 + 1.6 * k), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0]
    draw_aligned(aligned, axes)
    notes = []
    if aligned.description:
        notes.append(f"{aligned.settings.by}: {aligned.description}")
    lost = {k: v for k, v in aligned.dropped.items() if v}
    if lost:
        notes.append("dropped: " + ", ".join(f"{v} {k}" for k, v in lost.items()))
    if notes:
        text = "\n".join(textwrap.fill(n, 110) for n in notes)
        fig.supxlabel(text, fontsize=6.5, ha="left", x=0.01)
    fig.savefig(path, dpi=120)
