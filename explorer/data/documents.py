"""Bag-of-words documents: a folder of ``.txt`` files (one sub-folder per topic) or a table with a
text column (``.csv`` / ``.tsv`` / ``.parquet``), as word counts.

A document set is an ImageSet whose "images" are uint8 word counts (N, 1, 1, V) (a count above
255 is kept as 255, so every reader that takes uint8 images takes documents), V the size of
the vocabulary (``class_names`` are the topics, ``paths`` each document's file or "table#row",
and the vocabulary is kept on the loaded set as ``data.vocabulary``, see :func:`vocabulary_of`; a
subset does not carry it).
Models such as ``textae`` and the ``lsa`` encoder read the counts; the pixel baseline on it is
plain word counts.

Bad inputs never stop a load; each gets one sentence in ``skipped`` or ``notes``:
an empty file is skipped; text that is not UTF-8 is read as Latin-1 (every byte is a character);
a file over ``MAX_BYTES`` is read only up to that many bytes.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Generator

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress

MAX_BYTES = 2_000_000  # read at most this much of one document
MAX_VOCAB = 2000  # the most frequent words (over documents) after the stop words
MIN_DOCS = 2  # a word must occur in this many documents
TEXT_COLUMNS = ("text", "document", "body", "content")
LABEL_COLUMNS = ("label", "topic", "class", "category")
_WORD = re.compile(r"[a-z][a-z]+")
STOP = frozenset(
    """
a an and are as at be by for from has have if in into is it its of on or that the this to was
were will with not no but can do does than then there these they which who what when where how
all any each other some such only own same so too very just also may should would could one
two we you your our their them he she his her i me my been being more most over under out up
down off again further once here why both few nor about above after before below between
during through until while against because use used using see e g eg ie etc return returns
value values default none true false given object objects type types function functions
argument arguments
""".split()
)


def is_document_folder(folder: str) -> bool:
    """True when ``folder`` (or its sub-folders, one level down) holds two or more .txt files and
    no images (one document is no corpus: such a folder is read as a folder of images)."""
    found_txt = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if os.path.relpath(root, folder).count(os.sep) > 1:
            continue
        for n in names:
            low = n.lower()
            if n.startswith("."):
                continue
            if low.endswith(".txt"):
                found_txt += 1
            elif low.endswith((".png", ".jpg", ".jpeg", ".pgm", ".bmp", ".gif", ".tif", ".tiff", ".webp")):
                return False
    return found_txt >= 2


def tokenize(text: str) -> list[str]:
    """Lower-case words of two or more letters, stop words left out."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOP]


def read_text(path: str, max_bytes: int = MAX_BYTES) -> tuple[str, str | None]:
    """The text of one file and a sentence about it, or None when it read cleanly.

    Raises DataError (one sentence) for an empty or unreadable file."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            raw = f.read(max_bytes)
    except OSError as err:
        raise DataError(f"{path} could not be read ({err.strerror or err}).") from None
    if not raw.strip():
        raise DataError(f"{path} is empty.")
    note = None
    if size > max_bytes:
        note = f"{path} is {size / 1e6:.0f} MB; only its first {max_bytes / 1e6:.0f} MB were read."
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        if size > max_bytes and err.start >= len(raw) - 4:  # a character cut at the read limit
            text = raw[: err.start].decode("utf-8")
        else:
            text = raw.decode("latin-1")
            note = f"{path} is not UTF-8 text; it was read as Latin-1."
    return text, note


def count_words(texts: list[list[str]], max_vocab: int = MAX_VOCAB, min_docs: int = MIN_DOCS):
    """Token lists -> (counts float32 (N, V), vocabulary list of V words, most frequent first)."""
    df = Counter()
    for toks in texts:
        df.update(set(toks))
    keep = [w for w, c in df.most_common() if c >= min(min_docs, len(texts))][:max_vocab]
    index = {w: k for k, w in enumerate(keep)}
    counts = np.zeros((len(texts), len(keep)), dtype=np.float32)
    for i, toks in enumerate(texts):
        for w, c in Counter(t for t in toks if t in index).items():
            counts[i, index[w]] = c
    return counts, keep


def documents_set(
    texts: list[str],
    labels,
    class_names,
    paths,
    name: str,
    fmt: str,
    skipped=(),
    notes=(),
    max_vocab: int = MAX_VOCAB,
) -> ImageSet:
    """An ImageSet of word counts (N, 1, 1, V) from raw texts."""
    tokens = [tokenize(t) for t in texts]
    counts, vocab = count_words(tokens, max_vocab)
    if counts.shape[1] == 0:
        raise DataError(f"{name} has no words that occur in two or more documents.")
    if counts.max(initial=0) > 255:
        notes = [*notes, f"Words used more than 255 times in one document of {name} count as 255."]
    images = np.minimum(counts, 255).astype(np.uint8)[:, None, None, :]  # (N, 1, 1, V)
    labels = None if labels is None else np.asarray(labels, np.int64)
    data = ImageSet(
        images, labels, list(class_names), list(paths), name, fmt, skipped=list(skipped), notes=list(notes)
    )
    data.vocabulary = vocab  # for display only: models read the counts
    data.snippets = [_snippet(t) for t in texts]  # the start of each text, for the views
    return data


SNIPPET_CHARS = 240


def _snippet(text: str, chars: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"


def document_snippet(data: ImageSet, index: int, chars: int = SNIPPET_CHARS) -> str:
    """The start of document ``index``'s text (whitespace folded, at most ``chars`` characters):
    kept on a loaded set, read again from its .txt file for a subset, else its most frequent words."""
    snippets = getattr(data, "snippets", None)
    if snippets is not None and 0 <= index < len(snippets):
        return snippets[index][:chars]
    path = data.paths[index] if data.paths is not None and index < len(data.paths) else ""
    if path.lower().endswith(".txt") and os.path.isfile(path):
        try:
            return _snippet(read_text(path, max_bytes=4 * chars)[0], chars)
        except DataError:
            pass
    vocab = vocabulary_of(data)
    if vocab:
        counts = word_counts(data.images[index : index + 1])[0]
        top = np.argsort(-counts, kind="stable")[:12]
        return "words: " + ", ".join(vocab[k] for k in top if counts[k] > 0)
    return ""


def vocabulary_of(data: ImageSet) -> list[str]:
    """The words of a document set's columns ([] for image sets)."""
    return list(getattr(data, "vocabulary", None) or [])


def is_documents(data: ImageSet) -> bool:
    return data.format.startswith("documents")


def word_counts(images) -> np.ndarray:
    """A batch of document "images" as float32 word counts (B, V): uint8 counts as they are, float
    ones (``float_images``, counts / 255) scaled back."""
    a = np.asarray(images)
    flat = a.reshape(len(a), -1)
    return flat.astype(np.float32) if a.dtype == np.uint8 else flat.astype(np.float32) * np.float32(255)


def load_document_folder_job(folder: str) -> Generator[Progress, None, ImageSet]:
    """A folder of .txt files: sub-folders are topics (files at the top have no topic)."""
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # hidden folders (.git) are not data
        for n in sorted(names):
            if n.lower().endswith(".txt") and not n.startswith("."):
                files.append(os.path.join(root, n))
    topics = sorted({os.path.relpath(os.path.dirname(p), folder).split(os.sep)[0] for p in files} - {"."})
    texts, labels, paths, skipped, notes = [], [], [], [], []
    for k, path in enumerate(files):
        if k % 50 == 0:
            yield Progress(k, len(files), f"reading {os.path.basename(folder)}")
        try:
            text, note = read_text(path)
        except DataError as err:
            skipped.append(str(err))
            continue
        if note:
            notes.append(note)
        texts.append(text)
        top = os.path.relpath(os.path.dirname(path), folder).split(os.sep)[0]
        labels.append(topics.index(top) if top in topics else -1)
        paths.append(path)
    if not texts:
        raise DataError(f"{folder} has no readable .txt documents.")
    yield Progress(len(files), len(files), "counting words")
    return documents_set(
        texts,
        labels if topics else None,
        topics,
        paths,
        os.path.basename(os.path.normpath(folder)),
        "documents",
        skipped,
        notes,
    )


def load_document_table(path: str) -> ImageSet:
    """A .csv/.tsv/.parquet table with a text column (text, document, body or content) and an
    optional topic column (label, topic, class or category)."""
    import pandas as pd

    low = path.lower()
    try:
        if low.endswith((".parquet", ".pq")):
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, sep="\t" if low.endswith(".tsv") else ",", encoding_errors="replace")
    except Exception as err:
        raise DataError(f"{path} could not be read as a table ({type(err).__name__}).") from None
    cols = {c.lower(): c for c in table.columns}
    text_col = next((cols[c] for c in TEXT_COLUMNS if c in cols), None)
    if text_col is None:
        raise DataError(f"{path} has no text column; name one of its columns {', '.join(TEXT_COLUMNS)}.")
    label_col = next((cols[c] for c in LABEL_COLUMNS if c in cols), None)
    texts, rows, skipped = [], [], []
    for i, t in enumerate(table[text_col].tolist()):
        if not isinstance(t, str) or not t.strip():
            skipped.append(f"{path}#{i}: the text is empty.")
            continue
        texts.append(t[:MAX_BYTES])
        rows.append(i)
    if not texts:
        raise DataError(f"{path} has no rows with text.")
    labels, names = None, []
    if label_col is not None:
        values = table[label_col].iloc[rows].astype(str).tolist()
        names = sorted(set(values))
        labels = [names.index(v) for v in values]
    return documents_set(
        texts,
        labels,
        names,
        [f"{path}#{i}" for i in rows],
        os.path.basename(path),
        "documents:table",
        skipped,
    )
