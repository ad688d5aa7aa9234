"""The grid-backed point index and the density drawing, against brute force."""

from __future__ import annotations

import numpy as np

from explorer.jobs.scatter.density import DensityLayers
from explorer.jobs.scatter.grid import CellGrid
from explorer.jobs.scatter.index import PointIndex


def _points(n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    xy = np.concatenate([rng.normal(size=(n // 2, 2)), rng.normal(loc=4, scale=0.3, size=(n - n // 2, 2))])
    xy = xy.astype(np.float32)
    xy[::997] = np.nan  # rows not placed yet
    return xy


def test_lasso_of_a_star_and_of_a_polygon_larger_than_the_data_match_brute_force():
    from skimage.measure import points_in_poly

    xy = _points()
    index = PointIndex(xy)
    t = np.linspace(0, 2 * np.pi, 41)[:-1]
    r = np.where(np.arange(40) % 2 == 0, 3.0, 1.2)
    star = np.stack([r * np.cos(t) + 1, r * np.sin(t) + 1], axis=1)
    for poly in (star, star * 100.0, star / 50.0):
        finite = np.isfinite(xy).all(axis=1)
        want = np.flatnonzero(finite & points_in_poly(np.nan_to_num(xy).astype(np.float64), poly))
        np.testing.assert_array_equal(index.in_polygon(poly), want)
    allowed = np.random.default_rng(1).random(len(xy)) < 0.5
    want = np.flatnonzero(
        np.isfinite(xy).all(axis=1) & allowed & points_in_poly(np.nan_to_num(xy).astype(np.float64), star)
    )
    np.testing.assert_array_equal(index.in_polygon(star, allowed), want)
    box = index.in_rect(-1, -0.5, 2, 3)
    with np.errstate(invalid="ignore"):
        want = np.flatnonzero((xy[:, 0] >= -1) & (xy[:, 0] <= 2) & (xy[:, 1] >= -0.5) & (xy[:, 1] <= 3))
    np.testing.assert_array_equal(box, want)


def test_hover_finds_the_nearest_point_in_pixels_like_brute_force():
    xy = _points(50_000)
    index = PointIndex(xy)
    rng = np.random.default_rng(2)
    scale = (0.01, 0.02)  # data units per pixel along x and y
    ok = np.isfinite(xy).all(axis=1)
    for x, y in rng.normal(size=(50, 2)):
        d = np.hypot((xy[:, 0] - x) / scale[0], (xy[:, 1] - y) / scale[1])
        d[~ok] = np.inf
        best = int(np.argmin(d))
        want = best if d[best] <= 6.0 else None
        assert index.nearest(float(x), float(y), scale) == want


def test_grid_runs_hold_every_finite_point_once():
    xy = _points(30_000)
    grid = CellGrid(xy)
    assert np.array_equal(np.sort(grid.order), np.flatnonzero(np.isfinite(xy).all(axis=1)))
    rows = grid.rows_in_range(0, grid.size - 1, 0, grid.size - 1)
    assert len(rows) == len(grid.order) == grid.count_in_range(0, grid.size - 1, 0, grid.size - 1)


def test_density_blends_classes_and_grows_opacity_with_log_count():
    red, blue = (255, 0, 0, 255), (0, 0, 255, 255)
    palette = np.array([red, blue], np.uint8)
    # pixel A: 1 red point; pixel B: 1 red + 1 blue; pixel C: 100 red points
    xy = np.array([[0.5, 0.5], [2.5, 0.5], [2.5, 0.5]] + [[4.5, 0.5]] * 100 + [[9.9, 0.9]], np.float32)
    colour = np.array([0, 0, 1] + [0] * 100 + [0])
    layers = DensityLayers(CellGrid(xy, size=64), xy, colour.astype(np.uint8), palette)
    for sx in (1.0, 0.05):  # zoomed in (from the points) and out (from the cell pyramid)
        img = layers.draw(0.0, 1.0, sx, 1.0, int(np.ceil(10 * sx)), 1)[0]  # one pixel row over x in [0, 10)
        if sx == 1.0:
            a, b, c = img[0], img[2], img[4]
            assert tuple(a[:3]) == (255, 0, 0) and tuple(c[:3]) == (255, 0, 0)
            assert tuple(b[:3]) == (128, 0, 128)  # the blend of red and blue
            assert a[3] < b[3] < c[3] == 255  # log-scaled opacity: 1 < 2 < 100 points
        else:  # everything in the one pixel: the mean colour of 103 red and 1 blue points
            assert img.shape == (1, 4) and img[0, 3] == 255 and img[0, 0] > 240 and img[0, 2] < 10


def test_a_long_self_crossing_hand_drawn_lasso_matches_brute_force_on_both_paths():
    """Thousands of vertices (a mouse drag), crossing itself (even-odd), with hidden rows: the
    one-pass scan (a big lasso) and the gathered cells (a small one) agree with points_in_poly."""
    from skimage.measure import points_in_poly

    xy = _points(300_000, seed=3)
    index = PointIndex(xy)
    t = np.linspace(0, 2 * np.pi, 3000)[:-1]
    r = 2.5 + 0.8 * np.sin(7 * t) + np.random.default_rng(4).normal(scale=0.02, size=len(t))
    loop = np.stack([r * np.cos(3 * t) + 1, r * np.sin(2 * t) + 1], axis=1)  # a self-crossing curve
    allowed = np.random.default_rng(5).random(len(xy)) < 0.7
    finite = np.isfinite(xy).all(axis=1)
    for poly in (loop, loop / 40.0 + 4.0):  # big: the scan; small, on the dense blob: the gather
        inside = points_in_poly(np.nan_to_num(xy).astype(np.float64), poly)
        got = index.in_polygon(poly, allowed)
        np.testing.assert_array_equal(got, np.flatnonzero(finite & allowed & inside))
        assert len(got) > 100


def test_moving_rows_into_cell_order_equals_the_gather():
    """The two streaming passes (issue 16: 10^7 codes in cell order for each colouring) give
    ``values[order]`` exactly, over several 65,536-place blocks and with rows not placed."""
    xy = _points(300_000, seed=6)
    grid = CellGrid(xy)
    rng = np.random.default_rng(7)
    for values in (rng.integers(0, 200, len(xy)).astype(np.uint8), xy[:, 0].copy(), np.arange(len(xy))):
        np.testing.assert_array_equal(grid.to_cell_order(values), values[grid.order])


def _brute_density(xy, codes, palette, x0, ytop, sx, sy, w, h):
    """Per-pixel count and colour sums of the drawn points (code < len(palette)), with np.add.at."""
    px, py = (xy[:, 0] - np.float32(x0)) * np.float32(sx), (np.float32(ytop) - xy[:, 1]) * np.float32(sy)
    keep = (codes < len(palette)) & (px >= 0) & (px < w) & (py >= 0) & (py < h)
    ix, iy = px[keep].astype(int), py[keep].astype(int)
    cnt, acc = np.zeros((h, w)), np.zeros((h, w, 4))
    np.add.at(cnt, (iy, ix), 1.0)
    np.add.at(acc, (iy, ix), palette[codes[keep]].astype(float))
    return cnt, acc


def _brute_shade(cnt, acc):
    """The density's shading in numpy: mean colour, opacity 0.35..1 by log(1 + count) over the
    densest pixel's; a count c < 1 (a share of a point) takes c times one point's opacity."""
    from explorer.jobs.scatter.density import MIN_ALPHA

    out = np.zeros((*cnt.shape, 4), np.uint8)
    top = cnt.max()
    on = cnt > 0
    c = cnt[on]
    mean = acc[on] / c[:, None]
    t = np.minimum(1.0, np.log1p(c) / np.log1p(top)) if top > 1 else np.ones(on.sum())
    one = MIN_ALPHA + (1 - MIN_ALPHA) * min(1.0, np.log(2.0) / np.log1p(top)) if top > 1 else 1.0
    mean[:, 3] *= np.where(c >= 1, MIN_ALPHA + (1 - MIN_ALPHA) * t, c * one)
    out[on] = np.minimum(255.0, mean + 0.5).astype(np.uint8)
    return out


def test_density_levels_summed_tile_by_tile_and_the_points_image_equal_brute_force():
    """Level sums made tile by tile for the visible cells only, then for the rest, equal the
    per-cell sums over all points (np.add.at); a zoomed-in image equals the brute-force per-pixel
    sums of the points in view, shaded; hidden codes are left out of both."""
    rng = np.random.default_rng(8)
    xy = _points(120_000, seed=9)
    palette = rng.integers(0, 256, (7, 4)).astype(np.uint8)
    codes = rng.integers(0, 9, len(xy)).astype(np.uint8)  # 7, 8: not drawn
    grid = CellGrid(xy, size=512)
    layers = DensityLayers(grid, xy, codes, palette)
    placed = grid.cell_of >= 0
    drawn = placed & (codes < len(palette))
    cy, cx = grid.cell_of[drawn] // 512, grid.cell_of[drawn] % 512
    for shift in (0, 2):
        gl = 512 >> shift
        want_n, want_s = np.zeros(gl * gl), np.zeros((gl * gl, 4))
        cell = (cy >> shift) * gl + (cx >> shift)
        np.add.at(want_n, cell, 1.0)
        np.add.at(want_s, cell, palette[codes[drawn]].astype(float))
        block = (10, 70, 100, 130)  # some cells first: only their tiles are summed
        n, s = layers.level(shift, block)
        tiles = np.zeros((gl, gl), bool)
        t = DensityLayers.TILE
        tiles[block[2] // t * t : (block[3] // t + 1) * t, block[0] // t * t : (block[1] // t + 1) * t] = True
        np.testing.assert_array_equal(n.reshape(gl, gl)[tiles], want_n.reshape(gl, gl)[tiles])
        assert not n.reshape(gl, gl)[~tiles].any()
        n, s = layers.level(shift)
        np.testing.assert_array_equal(n, want_n)
        np.testing.assert_array_equal(s, want_s)
    x0, ytop, w, h = -1.5, 1.2, 160, 120
    sx = sy = 100.0  # cells of 512 over the data are > CELL_PX px: drawn from the points
    img = layers.draw(x0, ytop, sx, sy, w, h)
    cnt, acc = _brute_density(np.nan_to_num(xy, nan=-1e9), codes, palette, x0, ytop, sx, sy, w, h)
    assert cnt.sum() > 5000
    want = _brute_shade(cnt, acc)
    np.testing.assert_array_equal(img[..., 3] > 0, cnt > 0)
    assert np.abs(img.astype(int) - want).max() <= 1  # float32 sums and log against float64


def _overlaps(first, size, h):
    """(k, 3) first pixel and lengths of overlap / size of segments [first, first + size) with
    the pixels first // 1 + 0, 1, 2 (size <= 2)."""
    ix = np.floor(first).astype(int)
    f = np.stack(
        [
            np.clip(np.minimum(first + size, ix + d + 1) - np.maximum(first, ix + d), 0, None)
            for d in range(3)
        ],
        1,
    )
    return ix, f / size


def _brute_cells(count, sums, gl, lo, cw, ch, x0, ytop, sx, sy, w, h):
    """Each level cell's count and sums shared by area between the up to 3 x 3 pixels it
    overlaps (cells up to 2 pixels a side), with np.add.at."""
    cy, cx = np.divmod(np.flatnonzero(count), gl)
    n, s = count[cy * gl + cx].astype(float), sums[cy * gl + cx].astype(float)
    ix, fx = _overlaps((lo[0] + cx * cw - x0) * sx, cw * sx, w)
    iy, fy = _overlaps((ytop - (lo[1] + (cy + 1) * ch)) * sy, ch * sy, h)
    cnt, acc = np.zeros((h, w)), np.zeros((h, w, 4))
    for dy in range(3):
        for dx in range(3):
            yy, xx, wgt = iy + dy, ix + dx, fy[:, dy] * fx[:, dx]
            ok = (wgt > 0) & (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            np.add.at(cnt, (yy[ok], xx[ok]), n[ok] * wgt[ok])
            np.add.at(acc, (yy[ok], xx[ok]), s[ok] * wgt[ok, None])
    return cnt, acc


def test_a_zoomed_out_density_image_equals_the_area_shared_brute_force_cell_sums():
    """Zoomed out (cells up to CELL_PX pixels), views at odd offsets and scales, partly off the
    data: the image equals the brute-force per-cell sums of the points shared by area between the
    2 x 2 or 3 x 3 pixels a cell overlaps."""
    rng = np.random.default_rng(10)
    xy = _points(150_000, seed=11)
    palette = rng.integers(0, 256, (5, 4)).astype(np.uint8)
    codes = rng.integers(0, 6, len(xy)).astype(np.uint8)  # 5: not drawn
    grid = CellGrid(xy, size=1024)
    layers = DensityLayers(grid, xy, codes, palette)
    drawn = (grid.cell_of >= 0) & (codes < len(palette))
    cy, cx = grid.cell_of[drawn] // 1024, grid.cell_of[drawn] % 1024
    sizes = []
    for x0, ytop, scale, w, h in (
        (-4.3, 5.9, 40.0, 300, 220),
        (-1.1, 3.3, 60.0, 257, 199),
        (3.3, 4.7, 100.0, 151, 97),
    ):
        img = layers.draw(x0, ytop, scale, scale * 1.1, w, h)
        top = DensityLayers.CELL_PX
        f = next(
            1 << s
            for s in range(10, -1, -1)
            if grid.cell[0] * (1 << s) * scale <= top and grid.cell[1] * (1 << s) * scale * 1.1 <= top
        )
        sizes.append(grid.cell[0] * f * scale)
        gl = 1024 // f
        want_n, want_s = np.zeros(gl * gl), np.zeros((gl * gl, 4))
        cell = (cy // f) * gl + cx // f
        np.add.at(want_n, cell, 1.0)
        np.add.at(want_s, cell, palette[codes[drawn]].astype(float))
        cnt, acc = _brute_cells(
            want_n,
            want_s,
            gl,
            grid.lo,
            grid.cell[0] * f,
            grid.cell[1] * f,
            x0,
            ytop,
            scale,
            scale * 1.1,
            w,
            h,
        )
        assert cnt.sum() > 10_000
        want = _brute_shade(cnt, acc)
        assert np.abs(img.astype(int) - want).max() <= 1
        assert ((img[..., 3] > 0) != (want[..., 3] > 0)).sum() <= 0.001 * w * h  # slivers of a cell
    assert min(sizes) < 1.0 < max(sizes) <= 1.5  # cells under a pixel (2 x 2) and over (3 x 3)


def test_a_lone_point_spread_over_pixels_shows_one_points_ink_and_levels_look_like_the_points():
    """A cell spread by area over several pixels gives each its share of one point's opacity (the
    shares' alpha adds up to one point's); a view drawn from cells of about 1.2 px stays close to
    the points' own per-pixel picture (on white, 3 x 3 box-blurred: what the eye averages) and a
    100,000-point view in a 1200 x 900 plot is drawn from the points, as before."""
    from scipy.ndimage import uniform_filter

    from explorer.jobs.scatter.colours import class_palette

    palette = np.array([[200, 30, 30, 255]], np.uint8)
    xy = np.array([[0.3, 0.3]] * 50 + [[7.7, 7.7]], np.float32)  # a dense pixel, a lone point
    grid = CellGrid(xy, size=64)
    layers = DensityLayers(grid, xy, np.zeros(len(xy), np.uint8), palette)
    scale = 1.3 / grid.cell[0]  # finest cells 1.3 px: drawn from the cells
    img = layers.draw(0.0, 8.5, scale, scale, int(9 * scale), int(9 * scale)).astype(float)
    far = img[: int(2 * scale), -int(2 * scale) :, 3]  # the lone point's pixels
    count, sums = layers.level(0)  # (cells of 1.3 px: the finest level)
    w = int(9 * scale)
    cnt, _ = _brute_cells(count, sums, 64, grid.lo, *grid.cell, 0.0, 8.5, scale, scale, w, w)
    one = 255 * (0.35 + 0.65 * np.log(2) / np.log1p(cnt.max()))  # one point's alpha in this frame
    assert (far > 0).sum() >= 2 and abs(far.sum() - one) <= 4

    def on_white(im):
        a = im[..., 3:] / 255.0
        return uniform_filter(im[..., :3] * a + 255 * (1 - a), size=(3, 3, 1))

    rng = np.random.default_rng(12)  # ten clusters of one class each, as a layout draws them
    labels = rng.integers(0, 10, 300_000)
    xy = (rng.normal(scale=8.0, size=(10, 2))[labels] + rng.normal(size=(len(labels), 2))).astype(np.float32)
    palette = class_palette(10)
    grid = CellGrid(xy)
    layers = DensityLayers(grid, xy, labels.astype(np.uint8), palette)
    c = (xy.min(0) + xy.max(0)) / 2
    for px, most in ((0.6, 1.0), (1.2, 1.0), (1.2, 1.5)):  # before: cells up to 1 px, else points
        scale = px / grid.cell.max()
        layers.CELL_PX = most
        cells = layers.draw(c[0] - 150 / scale, c[1] + 150 / scale, scale, scale, 300, 300)
        layers.CELL_PX = 0.0  # the points' own picture
        points = layers.draw(c[0] - 150 / scale, c[1] + 150 / scale, scale, scale, 300, 300)
        diff = np.abs(on_white(cells.astype(float)) - on_white(points.astype(float)))
        assert (points[..., 3] > 0).mean() > 0.1
        if (px, most) == (1.2, 1.0):
            assert diff.max() == 0  # drawn from the points
        else:  # measured: mean 0.35, 99th percentile 7.0 (of 255) for 0.6 px, 0.64 and 11.1 for 1.2
            assert diff.mean() < 1.0 and np.percentile(diff, 99) < 14
    small = _points(100_000, seed=14)
    layers = DensityLayers(CellGrid(small), small, np.zeros(len(small), np.uint8), palette[:1])
    lo, hi = np.nanmin(small, 0), np.nanmax(small, 0)
    view = (lo[0], hi[1], 1200 / (hi[0] - lo[0]), 900 / (hi[1] - lo[1]), 1200, 900)
    now = layers.draw(*view)
    layers.CELL_PX = 0.0
    np.testing.assert_array_equal(now, layers.draw(*view))


def test_the_worker_index_prepares_the_drawing_of_a_big_layout():
    """drawing_index (built in the layout's worker) leaves the coordinates in cell order and the
    cell-order tables on the layout's shared grid, so the GUI thread's first frame reuses them."""
    from explorer.jobs.scatter.density import drawing_index
    from explorer.jobs.scatter.index import grid_for

    xy = _points(120_000, seed=12)
    index = drawing_index(xy)
    grid = grid_for(xy)
    assert index.grid is grid and grid._perm is not None
    xs, ys = grid._sorted_xy
    layers = DensityLayers(grid, xy, np.zeros(len(xy), np.uint8), np.zeros((1, 4), np.uint8))
    assert layers.xs is xs and layers.ys is ys
    np.testing.assert_array_equal(xs, xy[grid.order, 0])
    small = _points(1000, seed=13)
    assert getattr(drawing_index(small).grid, "_sorted_xy", None) is None  # drawn as points: not needed


def test_a_big_box_takes_the_one_pass_and_equals_brute_force_edges_included():
    """A box holding most points (the lasso's one pass over the rows) and a small one (the runs of
    its cells) select exactly the points of the closed box, with hidden rows, points lying on
    the box's edges included."""
    xy = _points(200_000, seed=14)
    x0, x1, y0, y1 = -1.3, 4.6, -1.1, 4.4
    xy[1:2000:7] = np.float32([x0, 0.5])  # on the left edge
    xy[2:2000:7] = np.float32([x1, 0.5])
    xy[3:2000:7] = np.float32([0.5, y1])
    xy[4:2000:7] = np.float32([np.nextafter(np.float32(x0), np.float32(-9)), 0.5])  # just outside
    index = PointIndex(xy)
    allowed = np.random.default_rng(15).random(len(xy)) < 0.8
    for box in ((x0, y0, x1, y1), (x1, y1, x0, y0), (3.95, 3.85, 4.05, 3.95)):
        for keep in (None, allowed):
            lo_x, hi_x, lo_y, hi_y = (
                min(box[0], box[2]),
                max(box[0], box[2]),
                min(box[1], box[3]),
                max(box[1], box[3]),
            )
            inside = (xy[:, 0] >= lo_x) & (xy[:, 0] <= hi_x) & (xy[:, 1] >= lo_y) & (xy[:, 1] <= hi_y)
            want = np.flatnonzero(inside if keep is None else inside & keep)
            got = index.in_rect(*box, allowed=keep)
            np.testing.assert_array_equal(got, want)
            assert len(got) > 200
    assert index.grid.count_in_range(*index.grid.cell_range(x0, x1, y0, y1)) > len(xy) // 32  # the big path


def test_the_grid_of_a_layout_that_is_gone_is_let_go():
    """grid_for shares a layout's grid while the layout lives and drops it once it is gone."""
    import gc
    import weakref

    from explorer.jobs.scatter.index import grid_for

    xy = _points(5000, seed=16)
    grid = grid_for(xy)
    assert grid_for(xy) is grid
    gone = weakref.ref(grid)
    del xy, grid
    gc.collect()
    grid_for(_points(5000, seed=17))  # the next layout's grid
    gc.collect()
    assert gone() is None


def test_lassos_with_edges_along_cell_sides_and_through_corners_match_brute_force():
    """The outline's band of cells (sampled edges, a sample's neighbour marked only near a side)
    holds every cell an edge touches: polygons with vertices on cell corners (edges along cell
    sides, through corners, at 45 degrees) and random thin ones select exactly what
    points_in_poly does, on the one-pass scan."""
    from skimage.measure import points_in_poly

    rng = np.random.default_rng(21)
    xy = rng.uniform(0, 1, (400_000, 2)).astype(np.float32)
    index = PointIndex(xy)
    grid = index.grid
    corners = lambda k: grid.lo + np.asarray(k, float) * grid.cell  # noqa: E731 (cell corners)
    polys = [
        corners([[10, 10], [200, 10], [200, 150], [10, 150]]),  # sides along cell sides
        corners([[20, 20], [220, 220], [20, 220]]),  # a diagonal through corners
        corners([[5, 100], [100, 5], [195, 100], [100, 195]]),
    ]
    for _ in range(6):  # thin random slivers and wiggles over most of the data
        m = int(rng.integers(3, 40))
        c = rng.uniform(0.3, 0.7, 2)
        r = rng.uniform(0.05, 0.45, m) * rng.choice([1.0, 0.2], m)
        t = np.sort(rng.uniform(0, 2 * np.pi, m))
        polys.append(np.stack([c[0] + r * np.cos(t), c[1] + r * np.sin(t)], 1))
    for poly in polys:
        want = np.flatnonzero(points_in_poly(xy.astype(np.float64), poly))
        assert len(want) > len(xy) // 40  # big enough for the one-pass scan
        np.testing.assert_array_equal(index.in_polygon(poly), want)


def test_frames_reuse_their_scratch_images_and_each_equals_a_first_frame():
    """A frame's count and colour-sum images are kept for the next (shade zeroes them as it reads
    them): frames at other views, zoomed out (cell sums) and in (points), then a smaller frame,
    each equal the same frame drawn first by fresh layers, and the images are left all zero."""
    rng = np.random.default_rng(5)
    xy = np.concatenate([rng.normal(0, 1, (150_000, 2)), rng.normal(2, 0.3, (150_000, 2))]).astype(np.float32)
    codes = rng.integers(0, 4, len(xy)).astype(np.uint8)
    palette = np.array(
        [[200, 30, 30, 255], [30, 200, 30, 255], [30, 30, 200, 255], [90, 90, 90, 70]], np.uint8
    )
    grid = CellGrid(xy)
    kept = DensityLayers(grid, xy, codes, palette)
    views = [
        (-4.0, 4.0, 40.0, 40.0, 320, 320),
        (1.5, 2.6, 400.0, 400.0, 240, 200),
        (-4.0, 4.0, 25.0, 25.0, 200, 200),
    ]
    for view in views + views[:1]:
        img = kept.draw(*view)
        assert img[..., 3].any()
        np.testing.assert_array_equal(img, DensityLayers(grid, xy, codes, palette).draw(*view))
        acc = kept._scratch  # (colour sums and counts in one image)
        assert acc.shape[:2] == view[:-3:-1] and not acc.any()


def test_the_tiled_one_pass_lasso_and_box_match_brute_force_for_every_tile_size():
    """Grids of 16 (tiles of one cell: a band tile is wholly of state 2), 200 (not a power of
    two: tiles of 2 cells, the last tile row and column short) and 1024 cells (tiles of 8, mixed
    tiles looked up cell by cell), with and without allowed rows."""
    from skimage.measure import points_in_poly

    xy = _points(120_000, seed=5)
    finite = np.isfinite(xy).all(axis=1)
    pts = np.nan_to_num(xy).astype(np.float64)
    allowed = np.random.default_rng(2).random(len(xy)) < 0.7
    t = np.linspace(0, 2 * np.pi, 90)[:-1]
    blob = np.stack([1.5 + 2.2 * np.cos(t) * (1 + 0.25 * np.sin(5 * t)), 1.5 + 2.0 * np.sin(t)], 1)
    for size in (16, 200, 1024):
        index = PointIndex(xy)
        index.grid = CellGrid(xy, size=size)
        grid = index.grid
        assert grid.n_tiles <= CellGrid.MAX_TILES and grid.tile * grid.n_tiles >= size
        assert (grid.tile_of[~finite] == grid.n_tiles**2).all()
        cy, cx = grid.cell_of[finite] // size, grid.cell_of[finite] % size
        np.testing.assert_array_equal(
            grid.tile_of[finite], (cy // grid.tile) * grid.n_tiles + cx // grid.tile
        )
        inside = finite & points_in_poly(pts, blob)
        np.testing.assert_array_equal(index.in_polygon(blob), np.flatnonzero(inside))
        np.testing.assert_array_equal(index.in_polygon(blob, allowed), np.flatnonzero(inside & allowed))
        # a box whose edges pass through points: closed, compared in float32 as numpy does
        xs, ys = np.sort(xy[finite, 0]), np.sort(xy[finite, 1])
        m = len(xs)
        lo_x, hi_x, lo_y, hi_y = (float(v) for v in (xs[m // 5], xs[4 * m // 5], ys[m // 6], ys[5 * m // 6]))
        with np.errstate(invalid="ignore"):
            want = (xy[:, 0] >= lo_x) & (xy[:, 0] <= hi_x) & (xy[:, 1] >= lo_y) & (xy[:, 1] <= hi_y)
        assert want.sum() > len(xy) // 32  # the one-pass path
        np.testing.assert_array_equal(index.in_rect(lo_x, lo_y, hi_x, hi_y), np.flatnonzero(want))
        np.testing.assert_array_equal(
            index.in_rect(lo_x, lo_y, hi_x, hi_y, allowed), np.flatnonzero(want & allowed)
        )


def test_the_last_big_lasso_or_box_gives_its_points_in_cell_order():
    xy = _points(100_000, seed=8)
    index = PointIndex(xy)
    grid = index.grid
    t = np.linspace(0, 2 * np.pi, 50)[:-1]
    blob = np.stack([0.2 + 1.8 * np.cos(t) * (1 + 0.2 * np.sin(4 * t)), 1.5 * np.sin(t)], 1)
    allowed = np.random.default_rng(3).random(len(xy)) < 0.6
    for query in (lambda a: index.in_polygon(blob, a), lambda a: index.in_rect(-1.0, -1.2, 1.5, 4.5, a)):
        rows = query(None)
        assert index.last_rows() is rows and len(rows) > len(xy) // 32
        mask = np.zeros(len(xy), bool)
        mask[rows] = True
        np.testing.assert_array_equal(index.cell_mask(rows.copy()), mask[grid.order])
        assert index.cell_mask(rows[1:]) is None and index.cell_mask(rows[::-1].copy()) is None
        picked = query(allowed)  # allowed left out of the rows, not of the mask
        np.testing.assert_array_equal(index.cell_mask(picked), mask[grid.order])
        np.testing.assert_array_equal(picked, np.flatnonzero(mask & allowed))
    index.in_polygon(blob / 100)  # a small lasso: no mask to give
    assert index.last_rows() is not None and index.cell_mask(np.zeros(0, np.int64)) is None
