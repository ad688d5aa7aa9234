"""Training at a training size: photos train small, the model remembers the size and encodes any image."""

import json

import numpy as np
import pytest
from PIL import Image

from explorer.core.encoder import encode_dataset
from explorer.core.errors import ModelFileError, TrainingError
from explorer.core.imageset import ImageSet
from explorer.core.preprocess import InputSpec, resize_array
from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models.encoders import checkpoint_encoder, model_encoder
from explorer.training.engine import TrainConfig, train
from explorer.training.image_size import at_training_size, training_spec


def test_training_spec_keeps_the_aspect_ratio():
    assert training_spec((1, 28, 28), None) is None  # small images train as they are
    assert training_spec((3, 64, 64), None) is None
    assert training_spec((3, 267, 397), None).shape == (3, 64, 95)  # photos: shorter side 64
    assert training_spec((3, 267, 397), 0) is None
    assert training_spec((3, 400, 300), 32).shape == (3, 43, 32)  # portrait
    assert training_spec((1, 28, 28), 28) is None
    with pytest.raises(TrainingError, match="from 4 to 512"):
        training_spec((3, 100, 100), 2)


def test_shrinking_averages_instead_of_picking_pixels():
    """A one-pixel checkerboard shrunk 4x is grey; sampling every 4th pixel would keep one colour."""
    board = (np.indices((64, 64)).sum(0) % 2).astype(np.float32)[None, None]
    small = resize_array(board, InputSpec(1, 16, 16))
    assert small.shape == (1, 1, 16, 16)
    np.testing.assert_allclose(small, 0.5, atol=1e-6)
    ramp = np.linspace(0, 1, 80, dtype=np.float32)[None, None, None, :].repeat(40, 2)
    out = resize_array(ramp, InputSpec(1, 10, 20))  # a smooth image keeps its values
    np.testing.assert_allclose(out[0, 0, 0], np.linspace(0, 1, 80)[1::4] + (0.5 / 79 * 2 - 1 / 79), atol=0.02)


@pytest.fixture
def photo_set():
    """40 colour 'photos' of 120x160 in two classes (red or blue left half)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, (40, 3, 120, 160), dtype=np.uint8)
    labels = np.arange(40) % 2
    images[labels == 0, 0, :, :80] = 230
    images[labels == 1, 2, :, :80] = 230
    return ImageSet(images, labels, ["red", "blue"], name="photos", format="npz")


def test_photos_train_small_and_the_model_encodes_them_at_their_own_size(photo_set, tmp_path):
    ck = tmp_path / "ae.safetensors"
    config = TrainConfig(model="ae", epochs=1, batch_size=16, code_dim=4, checkpoint=str(ck))
    result = run_to_end(train(config, photo_set))
    assert result.model.input_shape == (3, 64, 85)
    assert result.summary["input_shape"] == [3, 64, 85]
    enc = checkpoint_encoder(str(ck))
    assert enc.input_shape == (3, 64, 85) and enc.preprocess.shape == (3, 64, 85)
    codes = run_to_end(encode_dataset(enc, photo_set))  # the open set at its own 120x160
    assert codes.shape == (40, 4) and np.isfinite(codes).all()
    small = at_training_size(photo_set, training_spec(photo_set.shape, None))
    # the training copy is uint8, the encoder resizes from the originals in float: 1/255 apart at most
    np.testing.assert_allclose(codes, enc.encode(small.float_images()), rtol=2e-3, atol=1e-2)
    in_memory = model_encoder(result.model)
    assert in_memory.preprocess == enc.preprocess  # the model of a finished run in the app, too


def test_as_they_are_trains_at_the_data_size(photo_set):
    small = photo_set.subset(np.arange(8))
    small = ImageSet(small.images[:, :, :40, :40].copy(), small.labels, small.class_names, name="s")
    result = run_to_end(train(TrainConfig(model="ae", epochs=1, batch_size=8, image_size=0), small))
    assert result.model.input_shape == (3, 40, 40) and result.model.preprocess is None


def test_a_checkpoint_whose_preprocess_does_not_fit_its_model_is_refused(photo_set, tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    ck = tmp_path / "ae.safetensors"
    run_to_end(
        train(TrainConfig(model="ae", epochs=1, batch_size=16, code_dim=4, checkpoint=str(ck)), photo_set)
    )
    with safe_open(str(ck), "np") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta["preprocess"] = json.dumps(InputSpec(3, 999, 999).to_json())
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(ModelFileError, match="preprocess is for"):
        checkpoint_encoder(str(bad))


def test_a_file_backed_folder_trains_at_the_size_asked_for(tmp_path):
    rng = np.random.default_rng(1)
    for c in range(2):
        (tmp_path / f"c{c}").mkdir()
        for i in range(6):
            arr = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / f"c{c}" / f"{i}.png")
    data = load_data(str(tmp_path), file_backed=True, working=(16, 16))
    assert data.file_backed and data.shape == (3, 16, 16)
    result = run_to_end(train(TrainConfig(model="ae", epochs=1, batch_size=4, image_size=24), data))
    assert result.model.input_shape == (3, 24, 24)  # the set's own shape (square renditions), larger
    sized = at_training_size(data, result.model.preprocess)
    assert sized.images[np.array([0, 3])].shape == (2, 3, 24, 24) and sized.images[5].shape == (3, 24, 24)
    assert sized.subset(np.arange(4)).images[:].shape == (4, 3, 24, 24)
