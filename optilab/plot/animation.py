"""Animations of optimisation runs, to watch in a notebook and to keep (GIF, MP4, HTML).

:func:`animate` turns trajectories (one, or a race from :func:`optilab.optim.race`) into an
:class:`Animation`: in a notebook it shows itself as an HTML player with play/pause and a
slider (matplotlib's ``to_jshtml``), with frames sampled so that the page stays under
matplotlib's embed limit (``rcParams["animation.embed_limit"]``, 20 MB by default);
:func:`save_animation` (or ``Animation.save``) writes

* ``.gif`` -- with Pillow: one 255-colour palette for all frames, and each frame stores only
  the pixels that changed (the rest is transparent), so a 100-frame race stays small;
* ``.mp4`` -- with matplotlib's FFMpegWriter, where ``ffmpeg`` is installed;
* ``.html`` -- the same player as in the notebook, as a page.

Frames are rendered like a live plot: the function is drawn once and only the paths are
drawn again for each frame.

    >>> import tempfile, pathlib
    >>> runs = {"fast": [[-1.5, 2.0], [-0.5, 0.5], [0.8, 0.7], [1.0, 1.0]],
    ...         "slow": [[0.0, 2.5], [0.3, 2.0]]}
    >>> anim = animate("rosenbrock", runs, frames=4)
    >>> len(anim), anim.steps
    (4, [0, 1, 2, 3])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = anim.save(pathlib.Path(d) / "race.gif")
    ...     path.read_bytes()[:6]
    b'GIF89a'
"""

from __future__ import annotations

import base64
import io
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path as FilePath
from typing import Any

import matplotlib
import numpy as np
from matplotlib.animation import FFMpegWriter, HTMLWriter
from matplotlib.animation import writers as movie_writers
from PIL import Image

from .live import Renderer, _sample_steps
from .static import FunctionLike, Scene, as_paths, divergence_note, runs_of

__all__ = ["Animation", "animate", "save_animation", "TRANSPARENT"]

#: The palette index left free in every frame, used for "unchanged" pixels in GIFs.
TRANSPARENT = 255


class Animation:
    """Frames of one or more paths moving over a function (see :func:`animate`).

    ``steps[i]`` is the optimisation step frame ``i`` shows (every path up to that step).
    """

    def __init__(self, scene: Scene, trajectories: Any, frames: int = 100, fps: float = 15,
                 hold: float = 1.5, internals: bool = False) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.scene, self.fps, self.hold = scene, float(fps), float(hold)
        self.paths = as_paths(trajectories, scene.func, scene.dim)
        if not self.paths:
            raise ValueError("nothing to animate: give at least one trajectory")
        longest = max(len(p.points) for p in self.paths)
        self.steps = _sample_steps(longest - 1, frames)
        self.artists = [scene.add_path(p.label) for p in self.paths]
        if len(self.paths) > 1:
            scene.show_legend(self.paths)       # where no path of any frame starts or ends
        scene.fit_panels(self.paths)
        self.renderer = Renderer(scene, keep_palette=True)
        self._shown = -1
        #: with internals: the runs whose state is drawn, and the shown frame's captions
        self.runs = runs_of(trajectories) if internals else []
        self.captions: list[str] = []
        if internals:
            self.captions = scene.set_internals(self.runs, 0)   # checks view and state

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def figure(self) -> Any:
        """The matplotlib Figure the frames are drawn on."""
        return self.scene.figure

    def draw(self, i: int) -> None:
        """Set the paths to frame ``i`` (each path up to step ``steps[i]``)."""
        if self.progress is not None:
            self.progress.update()
        step = self.steps[i]
        shown = []
        for path, artists in zip(self.paths, self.artists):
            upto = min(step + 1, len(path.points))
            shown.append(upto)
            artists.set_data(path.points[:upto], path.values[:upto], path.lrs[:upto],
                             path.diverged_at if path.diverged_at is not None
                             and path.diverged_at < upto else None)
        if self.scene.set_note(divergence_note(self.paths, shown)):
            self.renderer.invalidate()
        if self.runs:                     # the step each path takes from its newest point
            self.captions = self.scene.set_internals(self.runs, step)
        self._shown = i

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` as an (h, w, 4) RGBA array."""
        self.draw(i)
        return self.renderer.render().copy()

    def frame_png(self, i: int) -> bytes:
        """Frame ``i`` as PNG bytes (indexed colour)."""
        self.draw(i)
        return self.renderer.png()

    def indexed_frames(self, indices: Sequence[int] | None = None) -> list[Image.Image]:
        """The frames as palette images sharing one palette (index 255 unused)."""
        out = []
        for i in range(len(self)) if indices is None else indices:
            self.draw(i)
            out.append(self.renderer.indexed())
        return out

    # -- export ------------------------------------------------------------------------
    def to_gif(self, path: str | FilePath | None = None, *, fps: float | None = None) -> bytes:
        """The animation as GIF bytes (also written to ``path`` if given).

        Every frame after the first stores only the pixels that changed; the others are
        transparent, and the last frame is held for ``hold`` seconds.
        """
        fps = self.fps if fps is None else float(fps)
        images = self.indexed_frames()
        palette = images[0].getpalette()
        frames, previous = [images[0]], np.asarray(images[0])
        for image in images[1:]:
            current = np.asarray(image)
            delta = np.where(current != previous, current, TRANSPARENT).astype(np.uint8)
            frame = Image.fromarray(delta, mode="P")
            frame.putpalette(palette)
            frames.append(frame)
            previous = current
        durations = [max(20, round(1000 / fps))] * len(frames)
        durations[-1] = max(durations[-1], round(1000 * self.hold))
        buffer = io.BytesIO()
        frames[0].save(buffer, "gif", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0, disposal=1, transparency=TRANSPARENT,
                       optimize=False)
        data = buffer.getvalue()
        if path is not None:
            FilePath(path).write_bytes(data)
        return data

    def to_jshtml(self, *, fps: float | None = None, embed_limit: float | None = None,
                  default_mode: str = "loop") -> str:
        """An HTML player (matplotlib's JavaScript animation) with frames embedded.

        If every frame does not fit under ``embed_limit`` MB (default:
        ``rcParams["animation.embed_limit"]``), frames are sampled evenly (first and last
        kept), so matplotlib never has to drop the end of the animation.
        """
        limit_mb = embed_limit if embed_limit is not None else \
            float(matplotlib.rcParams["animation.embed_limit"])
        largest = len(base64.encodebytes(self.frame_png(len(self) - 1)))
        fit = max(2, int(0.9 * limit_mb * 1024 * 1024 / max(1, largest * 1.1)))
        indices = list(range(len(self)))
        if len(indices) > fit:
            indices = sorted(set(np.round(np.linspace(0, len(self) - 1, fit)).astype(int)))
        writer = _FrameHTMLWriter(lambda: self.renderer.png(), fps=fps or self.fps,
                                  embed_frames=True, default_mode=default_mode,
                                  embed_limit=limit_mb)
        writer.frame_format = "png"
        with tempfile.TemporaryDirectory() as tmp:
            out = FilePath(tmp) / "animation.html"
            with writer.saving(self.figure, out, dpi=self.figure.dpi):
                self.renderer.invalidate()             # the writer may round the size
                for i in indices:
                    self.draw(i)
                    writer.grab_frame()
            return offline_player(out.read_text())

    def _repr_html_(self) -> str:
        return self.to_jshtml()

    def to_mp4(self, path: str | FilePath, *, fps: float | None = None) -> FilePath:
        """Write an MP4 with matplotlib's FFMpegWriter (needs ``ffmpeg`` on the PATH)."""
        if not movie_writers.is_available("ffmpeg"):
            raise RuntimeError("saving an MP4 needs ffmpeg, which was not found (install it, "
                               "e.g. apt-get install ffmpeg or conda install ffmpeg), or "
                               "save a .gif instead")
        path = FilePath(path)
        writer = FFMpegWriter(fps=fps or self.fps)
        with writer.saving(self.figure, path, dpi=self.figure.dpi):
            for i in range(len(self)):
                self.draw(i)
                writer.grab_frame()              # saving draws the moving artists too
        self.renderer.invalidate()
        return path

    progress: Any = None                 # a tqdm bar counting the frames drawn, while saving

    def save(self, path: str | FilePath, *, fps: float | None = None,
             progress: bool = False) -> FilePath:
        """Write the animation to ``path``: ``.gif``, ``.mp4`` or ``.html`` (with a progress
        bar of the frames drawn when ``progress``)."""
        from tqdm.auto import tqdm

        with tqdm(total=len(self), desc=f"drawing {FilePath(path).name}", unit="frame",
                  disable=not progress, leave=False) as self.progress:
            try:
                return save_animation(self, path, fps=fps)
            finally:
                self.progress = None

    def __repr__(self) -> str:
        labels = ", ".join(p.label for p in self.paths)
        return f"<Animation {self.scene.view}: {len(self)} frames of {labels}>"


# matplotlib's player loads Font Awesome from a CDN for its button icons: offline (a saved
# notebook, a slide without network) the buttons would be blank.  Plain Unicode symbols do.
_ICONS = {"fa-minus": "\u2212", "fa-plus": "+", "fa-fast-backward": "\u23ee",
          "fa-step-backward": "\u25c1", "fa-play": "\u25b6", "fa-pause": "\u23f8",
          "fa-step-forward": "\u25b7", "fa-fast-forward": "\u23ed"}
_ICON_CSS = "<style>\n.anim-buttons .fa { font-style: normal; }\n" + "".join(
    f'.anim-buttons .{name}::before {{ content: "{glyph}"; }}\n'
    for name, glyph in _ICONS.items()) + \
    ".anim-buttons .fa-flip-horizontal { display: inline-block; transform: scaleX(-1); }\n" \
    "</style>"


def offline_player(page: str) -> str:
    """matplotlib's HTML player with its remote stylesheet replaced by inline icons."""
    return re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">',
                  lambda m: _ICON_CSS, page)


class _FrameHTMLWriter(HTMLWriter):
    """matplotlib's HTML player, fed with our (blitted, indexed-colour) PNG frames instead
    of a full redraw per frame."""

    def __init__(self, png: Callable[[], bytes], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._png = png

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        frames = getattr(self, "_saved_frames", None)
        if not self.embed_frames or frames is None:     # another matplotlib: draw it fully
            super().grab_frame(**savefig_kwargs)
            return
        data = base64.encodebytes(self._png()).decode("ascii")
        self._total_bytes += len(data)
        if self._total_bytes < self._bytes_limit:
            frames.append(data)


def animate(f: FunctionLike, trajectories: Any, view: str | None = None, *,
            x_range: Any = None, y_range: Any = None, panels: Sequence[str] = (),
            frames: int = 100, fps: float = 15, hold: float = 1.5, title: str | None = None,
            elev: float = 30.0, azim: float = -60.0, dpi: float = 80,
            figsize: tuple[float, float] | None = None,
            colors: Sequence[str] | None = None, internals: bool = False) -> Animation:
    """An animation of ``trajectories`` over ``f``.

    ``trajectories``: a Trajectory, a dict label -> Trajectory (a race), a list, or arrays
    of points.  ``view``: "curve", "contour" (2D default) or "surface".  ``frames``: at
    most this many frames, sampled evenly over the steps (first and last kept); ``fps``
    frames per second; the last frame is held ``hold`` seconds in a GIF.  ``panels``:
    ("loss",) and/or ("lr",) beside the plot.  ``internals=True`` (contour view, runs made
    with ``record_state=True``) draws in each frame what each optimizer carries into its
    next step (see :func:`~optilab.plot.plot_trajectories`); the frame's captions, in
    words, are in ``anim.captions`` after ``anim.draw(i)`` (a caption under a moving
    picture would change its layout from frame to frame, so none is drawn).

    In a notebook, an Animation as a cell's last expression plays inline; ``.save(path)``
    writes a GIF, MP4 or HTML file.

    >>> anim = animate("square", {"gd": [[4.0], [2.4], [1.4], [0.9]]}, frames=3)
    >>> anim.steps
    [0, 2, 3]
    """
    scene = Scene(f, view, x_range, y_range, panels=panels, title=title, elev=elev, azim=azim,
                  dpi=dpi, figsize=figsize, animated=True, colors=colors)
    return Animation(scene, trajectories, frames=frames, fps=fps, hold=hold,
                     internals=internals)


def save_animation(animation: Animation, path: str | FilePath, *,
                   fps: float | None = None) -> FilePath:
    """Write ``animation`` to ``path``; the suffix picks the format: ``.gif`` (Pillow),
    ``.mp4`` (ffmpeg) or ``.html`` (a page with the player).  Returns the path."""
    path = FilePath(path)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        animation.to_gif(path, fps=fps)
    elif suffix == ".mp4":
        animation.to_mp4(path, fps=fps)
    elif suffix in (".html", ".htm"):
        path.write_text(animation.to_jshtml(fps=fps))
    else:
        raise ValueError(f"cannot tell the format from {path.name!r}: use a name ending in "
                         f".gif, .mp4 or .html")
    return path
