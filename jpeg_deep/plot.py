"""Pictures: line plots drawn with OpenCV (no plotting library needed; :func:`line_plot` writes
a PNG with axes, ticks, axis labels, a title and a legend), boxes drawn on images (:func:`draw`)
and grids of images (:func:`grid`)."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

_COLOURS = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148),
            (75, 86, 140), (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23)]  # BGR
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering ``[low, high]``."""
    if not high > low:
        high = low + 1
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, t = [], first
    while t <= high + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < high:
        ticks.append(round(t, 10))
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Ticks of a log axis covering ``[low, high]`` (both > 0): 1, 2 and 5 times powers of ten,
    from the largest at or below ``low`` to the smallest at or above ``high``."""
    low, high = max(low, 1e-12), max(high, low * 1.0001)
    ticks = [m * 10.0 ** k for k in range(math.floor(math.log10(low)) - 1,
                                          math.ceil(math.log10(high)) + 1) for m in (1, 2, 5)]
    first = max(t for t in ticks if t <= low * (1 + 1e-9))
    last = min(t for t in ticks if t >= high * (1 - 1e-9))
    return [float(f"{t:.6g}") for t in ticks if first <= t <= last]


def _label(value: float) -> str:
    return f"{value:g}"


def _dashed(img, points, colour, dash=10, gap=7):
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        length = math.hypot(xb - xa, yb - ya)
        t = 0.0
        while t < length:
            e = min(t + dash, length)
            p = (int(round(xa + (xb - xa) * t / length)), int(round(ya + (yb - ya) * t / length)))
            q = (int(round(xa + (xb - xa) * e / length)), int(round(ya + (yb - ya) * e / length)))
            cv2.line(img, p, q, colour, 2, cv2.LINE_AA)
            t = e + gap


def _style(item, i):
    style = item[3] if len(item) > 3 else {}
    return _COLOURS[style.get("colour", i) % len(_COLOURS)], bool(style.get("dashed", False))


def line_plot(series, path, *, xlabel: str, ylabel: str, title: str = "",
              ylim=None, xlog: bool = False, references=(), size=(900, 600)) -> Path:
    """Write a PNG of ``series``: a list of ``(label, xs, ys)`` or ``(label, xs, ys, style)``
    (``style``: ``colour``, an index in the palette, default the series' position;
    ``dashed``; ``points``, a text written beside each point, e.g. its quality), each drawn as
    a line with round markers and named in the legend. ``ylim``: ``(low, high)`` of the y axis
    (default: the data's range, references included, rounded to ticks); ``xlog``: a log x axis
    (ticks at 1, 2, 5 x 10^k); ``references``: ``(label, y, colour)`` horizontal dotted lines
    (e.g. the score without distortion), labelled at their right end. Returns the path."""
    width, height = size
    left, right, top, bottom = 80, 20, 50, 70
    xs_all = [float(x) for item in series for x in item[1] if not xlog or x > 0]
    ys_all = [float(y) for item in series for y in item[2] if y == y]
    ys_all += [float(y) for _, y, _ in references if y == y]
    if not xs_all:
        xs_all = [1.0, 10.0] if xlog else [0.0, 1.0]
    if not ys_all:
        ys_all = [0.0, 1.0]
    xticks = (log_ticks if xlog else nice_ticks)(min(xs_all), max(xs_all))
    yticks = nice_ticks(*(ylim if ylim is not None else (min(ys_all), max(ys_all))))
    x0, x1, y0, y1 = xticks[0], xticks[-1], yticks[0], yticks[-1]
    img = np.full((height, width, 3), 255, np.uint8)
    pw, ph = width - left - right, height - top - bottom
    fx = (lambda v: math.log10(max(v, 1e-12))) if xlog else float

    def to_px(x, y):
        return (int(round(left + (fx(x) - fx(x0)) / (fx(x1) - fx(x0)) * pw)),
                int(round(top + ph - (y - y0) / (y1 - y0) * ph)))

    for t in xticks:  # grid, ticks, tick labels
        px, _ = to_px(t, y0)
        cv2.line(img, (px, top), (px, top + ph), (230, 230, 230), 1)
        cv2.line(img, (px, top + ph), (px, top + ph + 6), (0, 0, 0), 1)
        text = _label(t)
        (tw, th), _ = cv2.getTextSize(text, _FONT, 0.45, 1)
        cv2.putText(img, text, (px - tw // 2, top + ph + 10 + th), _FONT, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
    for t in yticks:
        _, py = to_px(x0, t)
        cv2.line(img, (left, py), (left + pw, py), (230, 230, 230), 1)
        cv2.line(img, (left - 6, py), (left, py), (0, 0, 0), 1)
        text = _label(t)
        (tw, th), _ = cv2.getTextSize(text, _FONT, 0.45, 1)
        cv2.putText(img, text, (left - 10 - tw, py + th // 2), _FONT, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (left + pw, top + ph), (0, 0, 0), 1)
    (tw, th), _ = cv2.getTextSize(xlabel, _FONT, 0.55, 1)
    cv2.putText(img, xlabel, (left + (pw - tw) // 2, height - 15), _FONT, 0.55, (0, 0, 0), 1,
                cv2.LINE_AA)
    (tw, th), base = cv2.getTextSize(ylabel, _FONT, 0.55, 1)
    label = np.full((th + base + 4, tw + 4, 3), 255, np.uint8)
    cv2.putText(label, ylabel, (2, th + 2), _FONT, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    label = cv2.rotate(label, cv2.ROTATE_90_COUNTERCLOCKWISE)
    ly = max(top + (ph - label.shape[0]) // 2, 0)
    img[ly:ly + label.shape[0], 8:8 + label.shape[1]] = label[:height - ly]
    if title:
        (tw, th), _ = cv2.getTextSize(title, _FONT, 0.6, 1)
        cv2.putText(img, title, ((width - tw) // 2, 30), _FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    for label, y, colour_index in references:  # dotted, labelled at the right end
        if y != y:
            continue
        colour = _COLOURS[colour_index % len(_COLOURS)]
        _, py = to_px(x0, float(y))
        _dashed(img, [(left, py), (left + pw, py)], colour, dash=3, gap=5)
        (tw, th), _ = cv2.getTextSize(label, _FONT, 0.42, 1)
        cv2.putText(img, label, (left + pw - tw - 4, py - 5), _FONT, 0.42, colour, 1,
                    cv2.LINE_AA)
    for i, item in enumerate(series):  # the curves
        xs, ys = item[1], item[2]
        colour, dashed = _style(item, i)
        texts = (item[3] if len(item) > 3 else {}).get("points") or [None] * len(xs)
        kept = sorted((float(x), float(y), t) for x, y, t in zip(xs, ys, texts)
                      if y == y and (not xlog or x > 0))
        points = [to_px(x, y) for x, y, _ in kept]
        if len(points) > 1 and dashed:
            _dashed(img, points, colour)
        elif len(points) > 1:
            cv2.polylines(img, [np.array(points, np.int32)], False, colour, 2, cv2.LINE_AA)
        for p, (_, _, text) in zip(points, kept):
            cv2.circle(img, p, 4, colour, -1, cv2.LINE_AA)
            if text:
                cv2.putText(img, str(text), (p[0] + 5, p[1] - 7), _FONT, 0.38, colour, 1,
                            cv2.LINE_AA)
    if series:  # the legend, bottom right inside the axes
        sizes = [cv2.getTextSize(item[0], _FONT, 0.45, 1)[0] for item in series]
        box_w = max(w for w, _ in sizes) + 45
        box_h = 22 * len(series) + 8
        bx, by = left + pw - box_w - 8, top + ph - box_h - 8
        cv2.rectangle(img, (bx, by), (bx + box_w, by + box_h), (255, 255, 255), -1)
        cv2.rectangle(img, (bx, by), (bx + box_w, by + box_h), (160, 160, 160), 1)
        for i, item in enumerate(series):
            colour, dashed = _style(item, i)
            cy = by + 16 + 22 * i
            if dashed:
                _dashed(img, [(bx + 8, cy), (bx + 32, cy)], colour, dash=6, gap=4)
            else:
                cv2.line(img, (bx + 8, cy), (bx + 32, cy), colour, 2, cv2.LINE_AA)
            cv2.circle(img, (bx + 20, cy), 4, colour, -1, cv2.LINE_AA)
            cv2.putText(img, item[0], (bx + 38, cy + 5), _FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write {path}")
    return path


# ------------------------------------------------------------------------------------------
# Boxes on images

PREDICTED, TRUTH, DIFFICULT = (230, 30, 30), (30, 200, 60), (230, 200, 30)


def draw(rgb, boxes, labels, class_names, color, scores=None):
    """``rgb`` with ``boxes`` (xyxy pixels) drawn, labelled by class name (and score)."""
    import keras

    if not len(boxes):
        return rgb
    mapping = {i + 1: name for i, name in enumerate(class_names)}
    data = {"boxes": np.asarray(boxes, np.float32)[None],
            "labels": np.asarray(labels, np.int32)[None]}
    if scores is not None:
        data["confidences"] = np.asarray(scores, np.float32)[None]
    scale = max(0.35, min(rgb.shape[:2]) / 700)
    out = keras.visualization.draw_bounding_boxes(
        rgb[None].astype(np.uint8), data, "xyxy", class_mapping=mapping, color=color,
        line_thickness=2, font_scale=scale, data_format="channels_last")
    return np.asarray(out[0], np.uint8)


def grid(images, columns=4, cell=256):
    """One picture of ``images``, each letterboxed into a ``cell`` square."""
    import cv2

    rows = -(-len(images) // columns)
    out = np.full((rows * cell, columns * cell, 3), 255, np.uint8)
    for k, img in enumerate(images):
        h, w = img.shape[:2]
        s = cell / max(h, w)
        small = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                           interpolation=cv2.INTER_AREA)
        r, c = divmod(k, columns)
        out[r * cell:r * cell + small.shape[0], c * cell:c * cell + small.shape[1]] = small
    return out
