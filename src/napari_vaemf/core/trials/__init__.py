"""Trials, events and stimulus repeats: latents aligned to what happened in the experiment.

- :func:`find_tables` / :func:`read_table`: every interval table (``intervals/*``,
  ``trials``, ``epochs``) and event series (TTL codes, annotations, ndx-events) of an NWB
  file as an :class:`EventTable` of columns with their descriptions (h5py, read-only).
- :func:`align`: latents (bins, K) and spike counts (units, bins) cut into windows around
  one time column of a table, grouped by a categorical column (:class:`AlignSettings`),
  with the trials dropped counted by reason (:class:`Aligned`); :func:`plot_aligned`
  draws mean ± s.e.m. per group.
- :func:`stimulus_locked_share`: the share of the latent variance a repeated stimulus
  locks (repeat-averaged trajectory vs trial-to-trial variability).
"""
from __future__ import annotations

from ._align import DROP_REASONS, AlignSettings, Aligned, align
from ._plot import GROUP_COLORS, draw_aligned, group_legend, plot_aligned
from ._repeats import stimulus_locked_share, stimulus_locked_text, variance_partition
from ._tables import MAX_GROUPS, EventTable, find_tables, read_table

__all__ = [
    "EventTable", "find_tables", "read_table", "MAX_GROUPS",
    "AlignSettings", "Aligned", "align", "DROP_REASONS",
    "GROUP_COLORS", "draw_aligned", "plot_aligned", "group_legend",
    "stimulus_locked_share", "stimulus_locked_text", "variance_partition",
]
