"""`explorer encode --engine ray`: the same codes as the local engine, every row exactly once
(also when a worker is killed), resume skipping finished shards, and the shard folder opening as
one data set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from explorer.cluster.encode import encode_on_ray_job
from explorer.core.encoder import encode_dataset
from explorer.core.progress import run_to_end
from explorer.data import load_data, shards
from explorer.models import load_encoder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAE = os.path.join(ROOT, "sample_data", "models", "dae_mnist.safetensors")


def _local_codes(model: str, data) -> np.ndarray:
    return run_to_end(encode_dataset(load_encoder(model, data), data, batch_size=16))


def _rows(folder: str) -> np.ndarray:
    import pyarrow.parquet as pq

    info = shards.read_manifest(folder)
    parts = [
        pq.read_table(os.path.join(folder, shards.shard_name(k)), columns=["row"]).column("row").to_numpy()
        for k in range(len(shards.shard_ranges(info["count"], info["shard_rows"])))
    ]
    return np.concatenate(parts)


@pytest.mark.parametrize("model", ["pixels", DAE])
def test_ray_codes_equal_local_codes_on_a_folder_of_photos(local_ray, photo_folder, tmp_path, model):
    data = load_data(photo_folder, file_backed=True)
    out = str(tmp_path / "codes")
    report = run_to_end(encode_on_ray_job(model, photo_folder, out, batch_size=8, shard_rows=10, data=data))
    assert report["count"] == data.count == 36 and report["shards"] == 4
    ray_codes = shards.read_shard_codes(out)
    local = _local_codes(model, data)
    assert ray_codes.shape == local.shape
    assert np.abs(ray_codes - local).max() < 1e-5
    np.testing.assert_array_equal(_rows(out), np.arange(36))
    # the folder opens as one data set: same order by path, labels kept, images readable
    table = load_data(out)
    assert table.count == 36 and table.codes.shape == local.shape
    assert [os.path.realpath(p) for p in table.paths] == [os.path.realpath(p) for p in data.paths]
    np.testing.assert_array_equal(table.labels, data.labels)
    assert table.has_images


def test_resume_skips_finished_shards(local_ray, photo_folder, tmp_path):
    data = load_data(photo_folder, file_backed=True)
    out = str(tmp_path / "codes")
    job = encode_on_ray_job("pixels", photo_folder, out, batch_size=4, shard_rows=8, data=data)
    for _ in job:  # stop the job once the first shard is on disk
        if os.path.exists(os.path.join(out, shards.shard_name(0))):
            break
    job.close()
    written = {k for k in range(5) if os.path.exists(os.path.join(out, shards.shard_name(k)))}
    assert 0 in written and len(written) < 5
    stamp = os.stat(os.path.join(out, shards.shard_name(0))).st_mtime_ns
    report = run_to_end(encode_on_ray_job("pixels", photo_folder, out, batch_size=4, shard_rows=8, data=data))
    assert report["resumed_shards"] == len(written)
    assert os.stat(os.path.join(out, shards.shard_name(0))).st_mtime_ns == stamp  # not redone
    np.testing.assert_array_equal(_rows(out), np.arange(36))
    assert np.abs(shards.read_shard_codes(out) - _local_codes("pixels", data)).max() < 1e-5


def _map_workers() -> list[int]:
    """PIDs of Ray Data's map actors (their process title starts with ray::MapWorker)."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"MapWorker" in cmd:
                pids.append(int(pid))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds worker processes through /proc")
def test_killing_a_worker_mid_run_still_gives_every_row_once(local_ray, photo_folder, tmp_path):
    data = load_data(photo_folder, file_backed=True)
    out = str(tmp_path / "codes")
    job = encode_on_ray_job("pixels", photo_folder, out, batch_size=2, shard_rows=6, workers=2, data=data)
    killed = None
    try:
        while True:
            p = next(job)
            if killed is None and p.step > 0 and _map_workers():
                killed = _map_workers()[0]
                os.kill(killed, signal.SIGKILL)
    except StopIteration as stop:
        report = stop.value
    assert killed is not None
    assert report["count"] == 36
    np.testing.assert_array_equal(_rows(out), np.arange(36))
    assert np.abs(shards.read_shard_codes(out) - _local_codes("pixels", data)).max() < 1e-5


def test_another_models_folder_is_refused_not_overwritten(photo_folder, tmp_path):
    from explorer.core.errors import ExplorerError

    data = load_data(photo_folder, file_backed=True)
    out = tmp_path / "codes"
    out.mkdir()
    shards.write_manifest(
        str(out),
        {
            "count": 36,
            "shard_rows": 40,
            "data_fingerprint": data.fingerprint(),
            "model_identity": "pixels",
            "model": "pixels",
            "input": None,
        },
    )
    (out / shards.shard_name(0)).write_bytes(b"codes of pixels")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ExplorerError, match="another data set or model"):
        run_to_end(encode_on_ray_job(DAE, photo_folder, str(out), shard_rows=40, data=data))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's")
    with pytest.raises(ExplorerError, match="not empty"):
        run_to_end(encode_on_ray_job("pixels", photo_folder, str(tmp_path / "mine"), data=data))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "the user's"


def _start_cluster(Cluster, tries: int = 2):
    """Head + 2 nodes of 1 CPU. Ray gives a node 30 s to register (fixed in ray/_private/node.py);
    on an overloaded machine that can pass, so a cluster that did not come up is tried once more."""
    for attempt in range(tries):
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "object_store_memory": 100 << 20, "include_dashboard": False},
        )
        try:
            for _ in range(2):
                cluster.add_node(num_cpus=1, object_store_memory=100 << 20)
            cluster.wait_for_nodes()
            return cluster
        except Exception as err:  # Ray raises a bare Exception for the time-out
            cluster.shutdown()
            if "timed out during startup" not in str(err) or attempt + 1 == tries:
                raise
    raise AssertionError("unreachable")


def test_multi_node_cluster_gives_the_local_codes(photo_folder, tmp_path):
    """Head + two worker nodes of one CPU each, simulated on this machine."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = _start_cluster(Cluster)
    try:
        data = load_data(photo_folder, file_backed=True)
        out = str(tmp_path / "codes")
        report = run_to_end(
            encode_on_ray_job(
                DAE, photo_folder, out, address=cluster.address, batch_size=6, shard_rows=12, data=data
            )
        )
        assert report["workers"] == 3
        np.testing.assert_array_equal(_rows(out), np.arange(36))
        assert np.abs(shards.read_shard_codes(out) - _local_codes(DAE, data)).max() < 1e-5
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_cli_without_ray_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['ray'] = None; from explorer.cli import main; "
        f"sys.exit(main(['encode', '--engine', 'ray', '--model', 'pixels', '--data', 'sample:digits', "
        f"'--out', {str(tmp_path / 'c')!r}]))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "relate-explorer[cluster]" in run.stderr and "Traceback" not in run.stderr
    assert not os.path.exists(tmp_path / "c")


def test_ray_placement_gives_the_local_layout(local_ray):
    """Above the landmark threshold the nearest-landmark search runs in Ray tasks: same layout."""
    from explorer.cluster.place import project_on_ray_job
    from explorer.projection import project_job

    rng = np.random.default_rng(3)
    centres = rng.normal(0, 6, (5, 8))
    codes = (centres[rng.integers(0, 5, 3000)] + rng.normal(0, 1, (3000, 8))).astype(np.float32)
    params = dict(threshold=1000, landmarks=300, refine="none")
    local = run_to_end(project_job(codes, "umap", seed=0, **params))
    on_ray = run_to_end(project_on_ray_job(codes, "umap", seed=0, **params))
    assert on_ray.shape == (3000, 2) and np.isfinite(on_ray).all()
    np.testing.assert_allclose(on_ray, local, atol=1e-4)
