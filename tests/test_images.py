import numpy as np
import pytest
from PIL import Image

from clickseg_widget import ImageError, load_image


def _save(img: Image.Image, path, **kwargs):
    img.save(path, **kwargs)
    return path


def test_real_jpeg(grabcut_dir):
    image = load_image(grabcut_dir / "images" / "106024.jpg")
    assert image.dtype == np.uint8 and image.shape == (321, 481, 3)


def test_grayscale_rgba_and_16bit(tmp_path):
    gray = load_image(_save(Image.new("L", (7, 5), 100), tmp_path / "g.png"))
    assert gray.shape == (5, 7, 3) and (gray == 100).all()
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0  # transparent: composited on white
    out = load_image(rgba)
    assert tuple(out[1, 1]) == (200, 0, 0) and tuple(out[0, 0]) == (255, 255, 255)
    sixteen = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    path = _save(Image.fromarray(sixteen), tmp_path / "d.png")
    decoded = load_image(path)
    assert decoded[0, 0, 0] == 0 and decoded[-1, -1, 0] == round(55000 / 65535 * 255)


def test_exif_rotated_jpeg_is_upright(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # white left half
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = _save(Image.fromarray(pixels), tmp_path / "r.jpg", exif=exif, quality=95)
    upright = load_image(path)
    assert upright.shape == (40, 20, 3)
    assert upright[5, 10].mean() > 200 and upright[35, 10].mean() < 50  # white half now on top


def test_float_arrays_are_scaled():
    assert load_image(np.full((2, 2), 0.5))[0, 0, 0] == 128
    assert load_image(np.ones((2, 2, 3), bool))[0, 0, 0] == 255


def test_large_image(tmp_path):
    image = load_image(np.zeros((8000, 8000), np.uint8))
    assert image.shape == (8000, 8000, 3)


@pytest.mark.parametrize(
    "source, message",
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image format"),
        (np.zeros((0, 5, 3), np.uint8), "no image"),
        (np.zeros((4, 4, 2), np.uint8), "2 channels"),
        (np.full((2, 2), np.nan), "NaN"),
        (12345, "cannot read an image from int"),
    ],
)
def test_bad_images_name_the_problem(source, message):
    with pytest.raises(ImageError, match=message):
        load_image(source)


def test_bad_files(tmp_path, grabcut_dir):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.jpg")
    truncated = (grabcut_dir / "images" / "106024.jpg").read_bytes()[:2000]
    (tmp_path / "cut.jpg").write_bytes(truncated)
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(tmp_path / "cut.jpg")
