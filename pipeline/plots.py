"""Small matplotlib figures, returned as PNG bytes (the Dagster layer embeds them)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def loss_curve_png(history: list[dict[str, float]], title: str) -> bytes | None:
    """Every loss series of a training history against the epoch; None without history."""
    if not history:
        return None
    figure, axis = plt.subplots(figsize=(6, 3.2), dpi=100)
    epochs = [entry["epoch"] + 1 for entry in history]
    for key in (k for k in history[0] if k != "epoch"):
        axis.plot(epochs, [entry[key] for entry in history], label=key.replace("_", " "))
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss")
    axis.set_title(title)
    axis.legend()
    return to_png(figure)


def to_png(figure: plt.Figure) -> bytes:
    """Render a figure to PNG bytes and free it."""
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
