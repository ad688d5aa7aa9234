"""How big and how often each bench row measures: full, --quick, and tiny (for the test)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Plan:
    name: str = "full"
    scatter_sizes: tuple[int, ...] = (100_000, 1_000_000)
    scatter_frames: tuple[int, ...] = (20, 6)  # frames per repeat, per size
    scatter_repeats: int = 3  # ours/reference alternations, per size
    tsne_n: int = 10_000
    tsne_repeats: int = 2
    umap_n: int = 10_000
    umap_reference_starts: int = 2  # umap-learn compiles in every process: once is its second start too
    knn_n: int = 1_000_000
    knn_d: int = 32
    knn_repeats: int = 30
    train_data: str = "sample:mnist"
    train_epochs: int = 2
    train_repeats: int = 8  # a run is a second or two; the machine's noise is +-20% per run
    stall_seconds: float = 8.0
    stall_windows: int = 3  # the row reports the median of each window's longest gap
    stall_tsne_n: int = 5_000
    app_startup_s: float = 12.0  # the app's own stalls (bench/gui_stalls.py)
    app_umap_n: int = 10_000
    app_train_epochs: int = 8  # the stall row's run
    app_speed_epochs: int = 16  # ... the speed row's runs,
    app_train_pairs: int = 4  # alternated dialog / headless
    encode_n: int = 5_000
    encode_repeats: int = 5
    startup_repeats: int = 4
    million_landmark_n: int = 100_000  # landmark path vs full fit (issue 16)
    million_layout_n: int = 1_000_000  # `explorer project` stages; 0 skips
    million_knn_n: int = 10_000_000
    million_knn_d: int = 64
    million_knn_queries: int = 50
    million_scatter_n: int = 10_000_000
    million_scatter_frames: int = 12
    inspect_data: str = "sample:mnist"
    inspect_copy_kinds: tuple[str, ...] = ("noise", "shift", "crop")
    inspect_scale_n: int = 1_000_000
    photos_n: int = 100_000  # the generated folder of 640x480 JPEGs (collections rows)
    photos_encode_n: int = 1_024
    photos_watch_s: float = 60.0
    ray_encode_n: int = 10_000  # the first items of the photos_n folder
    ray_encode_repeats: int = 2
    ray_place_n: int = 1_000_000
    ray_place_repeats: int = 2
    hamming_n: int = 1_000_000  # binary codes searched by Hamming distance (issue 18 item 4)
    hamming_bits: int = 256
    hamming_float_d: int = 64  # the float codes they stand beside
    hamming_repeats: int = 30
    # verification of classes never seen in training (issue 18 item 1): each model trained with its
    # defaults (epochs None: the model's own) on unseen_train, verifying every pair of unseen_test
    unseen_data: str = "sample:mnist"
    unseen_train: tuple[int, ...] = (0, 1, 2, 3, 4)
    unseen_test: tuple[int, ...] = (5, 6, 7, 8, 9)
    unseen_models: tuple[str, ...] = ("triplet", "siamese")
    unseen_epochs: int | None = None
    analogy_count: int = 2_000  # next-view quadruples of the unseen turning objects (issue 18 item 2)


FULL = Plan()
# --quick: a few minutes on 2 idle cores. t-SNE and UMAP run on fewer codes (the measure's name
# says how many), umap-learn starts once, every row repeats less.
QUICK = replace(
    FULL,
    name="quick",
    scatter_frames=(8, 3),
    scatter_repeats=2,
    tsne_n=2_500,
    tsne_repeats=2,
    umap_n=5_000,
    umap_reference_starts=1,
    knn_repeats=10,
    train_epochs=3,  # runs of ~1 s: at 1 epoch (0.3 s) the wall noise was larger than any gap
    train_repeats=6,
    stall_seconds=4.0,
    stall_windows=2,
    stall_tsne_n=2_500,
    app_startup_s=8.0,
    app_train_epochs=4,
    app_speed_epochs=8,  # ~10 s a run (at 1 torch thread; 3 pairs: the row ~90 s)
    app_train_pairs=3,
    encode_n=2_000,
    encode_repeats=3,
    startup_repeats=2,
    inspect_scale_n=200_000,
    photos_n=10_000,
    photos_encode_n=256,
    ray_encode_n=2_000,
    ray_encode_repeats=1,
    ray_place_n=200_000,
    ray_place_repeats=1,
    hamming_repeats=10,
    unseen_models=("triplet",),
)
TINY = replace(
    FULL,
    name="tiny",
    scatter_sizes=(2_000, 5_000),
    scatter_frames=(2, 2),
    scatter_repeats=1,
    tsne_n=300,
    tsne_repeats=1,
    umap_n=300,
    knn_n=5_000,
    knn_d=8,
    knn_repeats=3,
    train_data="sample:digits",
    train_epochs=1,
    train_repeats=1,
    stall_seconds=0.5,
    stall_windows=1,
    stall_tsne_n=200,
    app_startup_s=1.0,
    app_umap_n=300,
    app_train_epochs=1,
    app_speed_epochs=1,
    app_train_pairs=1,
    encode_n=200,
    encode_repeats=1,
    startup_repeats=1,
    million_landmark_n=1_500,
    million_layout_n=0,
    million_knn_n=20_000,
    million_knn_d=16,
    million_knn_queries=5,
    million_scatter_n=60_000,
    million_scatter_frames=2,
    inspect_data="sample:digits",
    inspect_copy_kinds=("noise",),
    inspect_scale_n=5_000,
    photos_n=200,
    photos_encode_n=32,
    photos_watch_s=5.0,
    ray_encode_n=60,
    ray_encode_repeats=1,
    ray_place_n=12_000,
    ray_place_repeats=1,
    hamming_n=20_000,
    hamming_float_d=16,
    hamming_repeats=3,
    unseen_data="sample:digits",
    unseen_models=("triplet",),
    unseen_epochs=1,
    analogy_count=50,
)
PLANS = {"full": FULL, "quick": QUICK, "tiny": TINY}
