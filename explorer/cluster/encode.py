"""``explorer encode --engine ray``: encode a data set on Ray Data, written as Parquet shards.

The driver (this process) opens the data set and the model exactly as the local engine does,
through the same loaders and the same trust gate, and decides what every item's input is (the
encoder's InputSpec, or the working resolution). Ray Data then runs the batch-inference pattern:
a dataset of row numbers, ``map_batches`` with a callable class whose ``__init__`` loads the model
once per actor (a GPU per actor when the cluster has them) and whose ``__call__`` decodes,
preprocesses and encodes a batch of rows on the worker. Codes come back to the driver batch by
batch and are gathered into shards of ``shard_rows`` consecutive rows; a shard is written (temp
name + rename) as soon as all its rows are in, so the driver holds a few shards, never the data set.

Faults and resume: rows are keyed by number, so a batch that Ray retries after a worker died can
only fill the same slots again (each row appears exactly once in the output); the folder's
manifest says what made it, and a job started again with the same data and model skips the shards
already written. Items must be readable at the same paths on every node (a shared file system), as
for Ray Data's own readers; in-memory sets travel through Ray's object store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.progress import Progress
from explorer.data import shards


class EncodeActor:
    """One per Ray worker: loads the model once, then maps {"data": rows} -> {"row", "codes"}."""

    def __init__(self, model: dict, inputs: dict, device: str = "cpu", threads: int = 1) -> None:
        import torch

        torch.set_num_threads(max(1, int(threads)))
        self.encoder = _actor_encoder(model, device)
        if not isinstance(inputs, dict):  # an ObjectRef: the item list is put in the object store once
            import ray

            inputs = ray.get(inputs)
        self.inputs = inputs
        spec = inputs.get("spec")
        if spec is not None:
            from explorer.core.preprocess import InputSpec

            self.spec = InputSpec.from_json(spec)
        else:
            self.spec = None

    def __call__(self, batch: dict) -> dict:
        rows = np.asarray(batch["data"], dtype=np.int64).reshape(-1)
        images = _inputs(self.inputs, self.spec, rows)
        codes = np.asarray(self.encoder.encode(images), dtype=np.float32)
        return {"row": rows, "codes": codes}


def _actor_encoder(model: dict, device: str):
    if model.get("object") is not None:  # pixels / pca: the driver's (fitted) encoder itself
        return model["object"]
    from explorer.models import load_encoder

    encoder = load_encoder(model["path"], None, device=device, trust=model.get("trust") or False)
    if model.get("spec") is not None:
        from explorer.core.preprocess import InputSpec
        from explorer.models.preprocessing import set_spec

        set_spec(encoder, InputSpec.from_json(model["spec"]), model.get("spec_source") or "driver")
    return encoder


def _inputs(inputs: dict, spec, rows: np.ndarray) -> np.ndarray:
    """float32 (n, C, H, W) in [0, 1] for ``rows``: what the local engine would give the encoder."""
    from explorer.core.imageset import to_float

    if inputs["kind"] == "array":
        images = inputs["images"][rows]
        if spec is None:
            return to_float(images)
        from explorer.core.preprocess import resize_array

        return resize_array(images, spec)
    from explorer.data import decode
    from explorer.data.files import pool

    items, opener, subset = inputs["items"], inputs["opener"], inputs.get("rows")

    def one(row: int) -> np.ndarray:
        src = opener(items[row if subset is None else int(subset[row])])
        try:
            if spec is not None:
                return decode.encoder_array(src, spec)
            thumb, work = decode.renditions(
                src, inputs["channels"], inputs["thumb"], tuple(inputs["working"])
            )
            return work.astype(np.float32) * np.float32(1 / 255)
        except (ValueError, OSError):  # unreadable: zeros, as the local engine (listed in skipped)
            shape = spec.shape if spec is not None else (inputs["channels"], *inputs["working"])
            return np.zeros(shape, np.float32)

    return np.stack(list(pool().map(one, rows.tolist())))


def _input_plan(data, spec) -> dict:
    """How workers get each row's pixels: file items + opener (file-backed) or the array itself."""
    source = data.source
    if source is not None:
        return {
            "kind": "files",
            "items": source.items,
            "opener": source._open_item,
            "channels": source.channels,
            "thumb": source.thumb,
            "working": list(source.working),
            "spec": None if spec is None else spec.to_json(),
            "rows": source.rows,
        }
    return {
        "kind": "array",
        "images": np.asarray(data.images),
        "spec": None if spec is None else spec.to_json(),
    }


def _model_plan(model: str, encoder, trust) -> dict:
    path = os.path.expanduser(str(model))
    if os.path.isfile(path):
        from explorer.models import trust as trust_gate

        sha = trust_gate.file_sha256(path) if trust_gate.is_program(path) else False
        spec = getattr(encoder, "preprocess", None)
        return {
            "path": os.path.abspath(path),
            "trust": sha,  # the content the driver's gate let in
            "spec": None if spec is None else spec.to_json(),
            "spec_source": getattr(encoder, "preprocess_source", None),
        }
    return {"object": encoder}


def _manifest(data, encoder, spec, data_spec: str, shard_rows: int, dim: int | None) -> dict:
    from explorer.core.codes_store import model_identity

    return {
        "count": int(data.count),
        "shard_rows": int(shard_rows),
        "data": str(data_spec),
        "data_fingerprint": data.fingerprint(),
        "model": encoder.name,
        "model_identity": model_identity(encoder) or encoder.name,
        "input": None if spec is None else spec.to_json(),
        "code_dim": dim,
    }


def _same_job(old: dict, new: dict) -> bool:
    keys = ("count", "shard_rows", "data_fingerprint", "model_identity", "input")
    return all(old.get(k) == new.get(k) for k in keys)


def _quiet_ray_data(ray) -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.enable_auto_log_stats = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)


def encode_on_ray_job(
    model: str,
    data_spec: str,
    out: str,
    *,
    address: str | None = None,
    trust: bool | str = False,
    batch_size: int = 64,
    shard_rows: int = 4096,
    workers: int | None = None,
    gpus_per_worker: float | None = None,
    num_cpus: int | None = None,
    data=None,
    encoder=None,
) -> Iterator[Progress]:
    """Encode ``data_spec`` with ``model`` on Ray into the shard folder ``out``; yields Progress,
    returns {"out", "count", "code_dim", "shards", "resumed_shards", "workers"}.

    address: None starts Ray in this process (``num_cpus`` for it); ``auto`` / ``ray://...`` joins a
    cluster. workers: actors (default: the cluster's CPUs, or its GPUs when it has them).
    data, encoder: already opened (the CLI opens them to apply --preprocess); else opened here."""
    from explorer.core.encoder import input_spec_for
    from explorer.data import load_data_job
    from explorer.models import load_encoder

    from explorer.cluster import connect, require_ray

    require_ray()  # before any work: one sentence when Ray is missing
    if data is None:
        data = yield from load_data_job(data_spec)
    if not data.has_images:
        raise ExplorerError(f"{data_spec} holds precomputed codes, not images; there is nothing to encode.")
    if encoder is None:  # the trust gate runs here, in the driver; workers reopen only that content
        encoder = load_encoder(model, data, trust=trust)
    spec = input_spec_for(encoder, data)
    n = data.count
    out = os.path.abspath(os.path.expanduser(out))
    if os.path.exists(out) and not os.path.isdir(out):
        raise ExplorerError(f"--out {out} is a file; the Ray engine writes a folder of Parquet shards.")
    os.makedirs(out, exist_ok=True)
    info = _manifest(data, encoder, spec, data_spec, shard_rows, None)
    old = shards.read_manifest(out)
    if old is None and any(not name.startswith(".") for name in os.listdir(out)):
        raise ExplorerError(
            f"{out} is not empty and holds no explorer shards; choose an empty or new folder."
        )
    if old is not None and not _same_job(old, info):
        raise ExplorerError(
            f"{out} holds codes of another data set or model ({old.get('model')} on "
            f"{old.get('data')}); choose an empty or new folder."
        )
    if old is not None:
        info["code_dim"] = old.get("code_dim")
    shard_rows = int(info["shard_rows"])
    ranges = shards.shard_ranges(n, shard_rows)
    finished = shards.finished_shards(out, info) if old is not None else set()
    shards.write_manifest(out, info)
    todo = [k for k in range(len(ranges)) if k not in finished]
    done_rows = sum(ranges[k][1] - ranges[k][0] for k in finished)
    if finished:
        yield Progress(done_rows, n, f"resuming: {len(finished)} of {len(ranges)} shards already written")
    result = {"out": out, "count": n, "shards": len(ranges), "resumed_shards": len(finished)}
    if not todo:
        result.update(code_dim=info.get("code_dim"), workers=0)
        return result

    ray, started = connect(address, num_cpus=num_cpus)
    iterator = None
    try:
        _quiet_ray_data(ray)
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0)) if gpus_per_worker is None else float(gpus_per_worker)
        per_gpu = 1.0 if gpus_per_worker is None and gpus else gpus
        count = workers or (int(gpus) if gpus else max(1, int(resources.get("CPU", 1))))
        yield Progress(done_rows, n, f"starting {count} Ray worker(s)")
        inputs_ref = ray.put(_input_plan(data, spec))
        rows = np.concatenate([np.arange(*ranges[k], dtype=np.int64) for k in todo])
        blocks = np.array_split(rows, max(1, min(len(rows), int(np.ceil(len(rows) / batch_size)))))
        count = max(1, min(count, len(blocks)))  # no idle actors for a short job
        ds = ray.data.from_numpy(blocks)
        ds = ds.map_batches(
            EncodeActor,
            batch_size=batch_size,
            batch_format="numpy",
            concurrency=count,
            num_cpus=0 if per_gpu else 1,
            num_gpus=per_gpu or None,
            fn_constructor_kwargs={
                "model": _model_plan(model, encoder, trust),
                "inputs": inputs_ref,
                "device": "cuda" if per_gpu else "cpu",
                "threads": 1,
            },
        )  # Ray Data's actor pools restart a dead actor and retry its batch (max_restarts=-1,
        #    max_task_retries=-1 by default): with rows keyed by number that cannot duplicate a row
        pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        paths, labels = data.paths, data.labels
        iterator = ds.iter_batches(batch_size=None, batch_format="numpy")
        for batch in iterator:
            got_rows = np.asarray(batch["row"], np.int64)
            codes = np.asarray(batch["codes"], np.float32)
            if info.get("code_dim") is None:
                info["code_dim"] = int(codes.shape[1])
                shards.write_manifest(out, info)
            for k in np.unique(got_rows // shard_rows):
                k = int(k)
                start, stop = ranges[k]
                if k not in pending:
                    pending[k] = (
                        np.zeros((stop - start, codes.shape[1]), np.float32),
                        np.zeros(stop - start, bool),
                    )
                buf, filled = pending[k]
                pick = (got_rows // shard_rows) == k
                local = got_rows[pick] - start
                done_rows += int((~filled[local]).sum())  # a retried batch fills the same slots
                buf[local], filled[local] = codes[pick], True
                if filled.all():
                    shards.write_shard(
                        out,
                        k,
                        np.arange(start, stop),
                        buf,
                        None if paths is None else [str(p) for p in paths[start:stop]],
                        None if labels is None else labels[start:stop],
                        None if labels is None else [data.label_name(i) for i in range(start, stop)],
                    )
                    del pending[k]
            yield Progress(done_rows, n, f"encoding with {encoder.name} on Ray ({count} workers)")
        if pending:
            raise ExplorerError(
                f"Ray returned no codes for {sum((~f).sum() for _, f in pending.values())} "
                "items; run the same command again to finish them."
            )
        result.update(code_dim=info.get("code_dim"), workers=count)
        return result
    finally:
        iterator = None
        if started:
            ray.shutdown()
