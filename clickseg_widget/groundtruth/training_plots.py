"""The auto-labeling model's training curves, one line per iteration (see ``training_logs``)."""
from __future__ import annotations

import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .training_logs import metric_names


def training_curve_figure(metrics: pd.DataFrame, metric: str | None = None) -> Figure:
    """Each iteration's metric per epoch (default: the first validation metric), epochs on whole-number ticks."""
    names = metric_names(metrics)
    metric = metric or (names[0] if names else None)
    if metric is None or metric not in names or metrics[metric].isna().all():
        raise ValueError(f"no {metric or 'metric'} values to plot; the training logs gave {names or 'no metric lines'}")
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    ax = figure.add_subplot()
    iterations = sorted(metrics["iteration"].unique())
    cmap = colormaps["coolwarm"]
    for index, iteration in enumerate(iterations):
        rows = metrics[metrics["iteration"] == iteration].dropna(subset=[metric]).sort_values("epoch")
        samples = rows["training_samples"].dropna()
        label = f"iteration {iteration}" + (f" ({int(samples.iloc[0])} training images)" if len(samples) else "")
        ax.plot(rows["epoch"], rows[metric], marker="o", markersize=3, label=label,
                color=cmap(index / max(1, len(iterations) - 1)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Auto-labeling model training")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(metric[0].upper() + metric[1:])
    ax.grid(True)
    ax.legend()
    return figure
