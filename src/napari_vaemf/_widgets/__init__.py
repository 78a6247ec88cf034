"""Thin Qt dock widgets (named in napari.yaml); each owns a core object and runs its jobs.

- ``_simulate.SimulateWidget``: samplers -> configuration layer.
- ``_load_recording.LoadRecordingWidget``: open files; re-bin / window / select in memory.
- ``_fit.FitWidget``: train a :class:`~napari_vaemf.core.vae.Fit` with a live plot.
- ``_capacity.CapacityWidget``: the capacity sweep and its verdict.
- ``_theory.TheoryWidget``: theory read-off, parameter table, pattern layers.

Shared plumbing: ``_runner`` (core generator in a napari thread worker, cooperative stop,
ordered main-thread handlers), ``_base`` (Start/Stop, clean close, layer picker),
``_form``/``_settings`` (forms, tooltips and persisted settings from dataclasses),
``_plots`` (matplotlib canvases).
"""
