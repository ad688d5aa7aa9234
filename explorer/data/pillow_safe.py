"""The one way explorer opens an image file: regular files only, an allow-list of decoders.

Every image reader (folders, single files, dropped files, analogy inputs) goes through
:func:`open_image`, so all of them:

- refuse anything that is not a regular file *before* opening it (a FIFO would block the reader for
  ever, a device node can be endless or have side effects when opened): ``os.stat`` first, then
  the file is opened non-blocking and checked again with ``fstat`` (no race with a swap in between);
- decode only the formats in :data:`ALLOWED_FORMATS`, passed to ``PIL.Image.open(fp, formats=...)``,
  so a file whose bytes say "PostScript" never reaches Pillow's EPS plugin (which starts
  Ghostscript), whatever its name;
- refuse decompression bombs (more than :data:`MAX_PIXELS` pixels, or Pillow's own bomb check);
- raise :class:`ImageFileError` (a DataError: one sentence in ``str``, a short ``reason`` for skip
  lists) for every failure, including the many exception types Pillow's plugins raise on damaged
  files while the caller decodes inside the ``with`` block.

Usage::

    with open_image(path) as im:   # PIL.Image.Image, header read, pixels not yet decoded
        im.load()
        arr = np.asarray(im)
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import warnings
from collections.abc import Iterator

from explorer.core.errors import DataError, ExplorerError

# Pillow format ids. Each one is a parser that reads untrusted bytes, so the list is the formats
# the app documents and nothing more; none of them starts an external program when reading.
# Left out on purpose: EPS/PS (Ghostscript), and the rest of Pillow's plugins (PSD, ICNS, DDS, AVIF,
# FITS, ...), which no data set here needs; adding one is one entry.
ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM")
FORMATS_TEXT = "PNG, JPEG, GIF, BMP, TIFF, WebP or PGM/PPM/PBM"
MAX_PIXELS = 64_000_000  # per image: larger files are refused before their pixels are decoded

_KIND = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


class ImageFileError(DataError):
    """An image file explorer will not or cannot decode.

    ``str(err)`` is a sentence naming the file; ``err.reason`` is the short reason alone
    ("not a regular file (a named pipe (FIFO))", "truncated image file", ...) for skip lists."""

    def __init__(self, path: str, reason: str, sentence: str | None = None):
        self.path = os.fspath(path)
        self.reason = reason
        name = os.path.basename(self.path) or self.path
        super().__init__(sentence or f"{name} could not be read as an image: {reason}.")


def _kind(mode: int) -> str:
    return _KIND.get(stat.S_IFMT(mode), "not a regular file")


def check_regular_file(path: str | os.PathLike) -> os.stat_result:
    """``os.stat(path)`` if ``path`` is a regular file (symlinks followed); ImageFileError if not.

    Never opens the file, so a FIFO or a device is refused without blocking or touching it."""
    path = os.fspath(path)
    name = os.path.basename(path) or path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageFileError(path, "no such file", f"There is no image file at {path}.") from None
    except PermissionError:
        raise ImageFileError(
            path, "permission denied", f"{name} cannot be read (permission denied)."
        ) from None
    except OSError as err:
        raise ImageFileError(path, err.strerror or "cannot be read") from None
    if not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        raise ImageFileError(
            path,
            f"not a regular file ({kind})",
            f"{name} is {kind}, not a regular file; explorer reads only regular files.",
        )
    return st


def _open_regular(path: str):
    """A binary file object for ``path``, refused unless it is (still) a regular file once opened."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise ImageFileError(
            path, "permission denied", f"{os.path.basename(path)} cannot be read (permission denied)."
        ) from None
    except OSError as err:
        raise ImageFileError(path, err.strerror or "cannot be opened") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for a FIFO/device between stat and open
            kind = _kind(st.st_mode)
            raise ImageFileError(
                path,
                f"not a regular file ({kind})",
                f"{os.path.basename(path)} is {kind}, not a regular file; explorer reads only regular files.",
            )
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _sniff(fp) -> str:
    """What an unidentified file looks like, for the sentence ("" when nothing useful)."""
    try:
        fp.seek(0)
        head = fp.read(16)
    except OSError:
        return ""
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        return "it is PostScript/EPS, which explorer does not open"
    if head.startswith(b"%PDF"):
        return "it is a PDF document"
    if not head:
        return "it is empty"
    return ""


def _unidentified(path: str, fp) -> ImageFileError:
    what = _sniff(fp)
    reason = "not an image Pillow can read" + (f" ({what})" if what else "")  # wording kept for skip lists
    return ImageFileError(
        path,
        reason,
        f"{os.path.basename(path)} could not be read: "
        + (what or "it is not an image, or it is damaged or of a format explorer does not read")
        + f"; use a {FORMATS_TEXT} file.",
    )


def _damaged(path: str, err: BaseException) -> ImageFileError:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "truncated" in text.lower():
        text = "truncated image file"
    # a skip list showed Pillow's words alone ("cannot load this image": what, not why)
    reason = text if text == "truncated image file" else f"damaged image file (Pillow: {text[:160]})"
    return ImageFileError(
        path, reason, f"{os.path.basename(path)} could not be read: it is damaged ({text[:200]})."
    )


@contextlib.contextmanager
def open_image(
    path: str | os.PathLike | bytes | bytearray | memoryview,
    *,
    formats: tuple[str, ...] | list[str] = ALLOWED_FORMATS,
    max_pixels: int = MAX_PIXELS,
) -> Iterator:
    """Open an image file safely; yield the ``PIL.Image.Image`` (header read, pixels not decoded).

    ``path`` may also be the bytes of an encoded image (a Parquet image column): the same
    allow-list and checks, no file involved (messages then say "image bytes").

    The caller decodes (``load``, ``convert``, ``np.asarray``) inside the ``with`` block: Pillow
    warnings about damaged metadata are silenced there, a decompression bomb is an error, and any
    decoding failure comes out as :class:`ImageFileError`. Errors the caller raises itself as
    ExplorerError pass through unchanged. The file is closed when the block ends."""
    from PIL import Image, UnidentifiedImageError

    data = path if isinstance(path, (bytes, bytearray, memoryview)) else None
    path = "image bytes" if data is not None else os.fspath(path)
    if data is None:
        check_regular_file(path)
    unknown = [f for f in formats if f not in ALLOWED_FORMATS]
    if unknown:  # a programming error, not a user one
        raise ValueError(f"formats not in ALLOWED_FORMATS: {unknown}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged EXIF & co: the image is kept if it decodes
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        fp = io.BytesIO(data) if data is not None else _open_regular(path)
        try:
            try:
                im = Image.open(fp, formats=list(formats))
            except UnidentifiedImageError:
                raise _unidentified(path, fp) from None
            with im:
                if im.width * im.height > max_pixels:
                    raise ImageFileError(
                        path,
                        f"too large ({im.width}x{im.height} pixels)",
                        f"{os.path.basename(path)} is too large ({im.width}×{im.height} "
                        "pixels); scale it down first.",
                    )
                if im.width == 0 or im.height == 0:
                    raise ImageFileError(path, "empty image")
                yield im
        except ExplorerError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageFileError(
                path,
                "too large (decompression bomb check)",
                f"{os.path.basename(path)} is too large to open safely; scale it down first.",
            ) from None
        except (MemoryError, KeyboardInterrupt, GeneratorExit):
            raise
        except Exception as err:  # Pillow's plugins raise many types on damaged files
            raise _damaged(path, err) from None
        finally:
            fp.close()


def image_extensions() -> set[str]:
    """Lower-case file suffixes (".png", ".jpg", ...) of the allowed formats, for pre-filtering walks."""
    from PIL import Image

    Image.init()
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in ALLOWED_FORMATS}
