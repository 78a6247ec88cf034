"""Small matplotlib canvases for dock widgets, styled like napari's dark theme."""
from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure

__all__ = ["PlotCanvas"]

BACKGROUND = "#262930"  # napari's dark theme background
FOREGROUND = "#d1d2d4"


class PlotCanvas(FigureCanvasQTAgg):
    """A figure with ``rows`` stacked axes; ``redraw()`` draws when Qt is idle."""

    def __init__(self, rows: int = 2, height: float = 4.0, tooltip: str = ""):
        fig = Figure(figsize=(4.0, height), facecolor=BACKGROUND, layout="constrained")
        super().__init__(fig)
        self.axes = [fig.add_subplot(rows, 1, i + 1) for i in range(rows)]
        for ax in self.axes:
            style(ax)
        self.setMinimumHeight(int(height * 60))
        if tooltip:
            self.setToolTip(tooltip)

    def redraw(self) -> None:
        for ax in self.axes:
            ax.relim()
            ax.autoscale_view()
        self.draw_idle()


def style(ax) -> None:
    """Dark, napari-like colours for one axes."""
    ax.set_facecolor(BACKGROUND)
    for spine in ax.spines.values():
        spine.set_color(FOREGROUND)
    ax.tick_params(colors=FOREGROUND, labelsize=8)
    ax.xaxis.label.set_color(FOREGROUND)
    ax.yaxis.label.set_color(FOREGROUND)
    ax.title.set_color(FOREGROUND)
    ax.title.set_fontsize(9)


def legend(ax) -> None:
    leg = ax.legend(fontsize=7, facecolor=BACKGROUND, edgecolor=FOREGROUND, labelcolor=FOREGROUND)
    leg.set_draggable(False)
