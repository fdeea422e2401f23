"""The list-file reader: real hashing lists, bad input, and small image trees with a corrupt file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hashlib_core.data import check_images, make_torch_dataset, read_list_file
from hashlib_core.data.listfile import build_list_protocol


@pytest.mark.parametrize(
    ("folder", "fname", "n", "n_classes"),
    [
        ("nuswide_21", "test.txt", 2100, 21),
        ("nuswide_21", "train.txt", 10500, 21),
        ("nuswide_81_m", "train.txt", 10000, 81),
        ("coco", "test.txt", 5000, 80),
        ("coco", "train.txt", 10000, 80),
        ("imagenet", "test.txt", 5000, 100),
        ("imagenet", "train.txt", 13000, 100),
        ("voc2012", "database.txt", 6540, 20),
    ],
)
def test_real_lists(shared_data, folder, fname, n, n_classes):
    lst = read_list_file(shared_data / "hashing-lists" / folder / fname)
    assert lst.labels.shape == (n, n_classes) and lst.labels.dtype == np.uint8
    assert lst.n_dropped == 0 and len(lst.relative_paths) == n
    assert lst.lines[0] == 1 and lst.lines[-1] == n
    per_item = lst.labels.sum(axis=1)
    if folder == "imagenet":
        assert per_item.max() == 1 and lst.labels.sum(axis=0).min() >= 50
    else:  # multi-label: some items carry several labels, every label is used
        assert per_item.max() > 1 and lst.labels.sum(axis=0).min() > 0


def test_real_nuswide_label_statistics(shared_data):
    """Multi-label relevance on real NUS-WIDE statistics: how many items share a label."""
    lst = read_list_file(shared_data / "hashing-lists" / "nuswide_21" / "test.txt")
    labels = lst.labels.astype(np.int64)
    relevant = (labels @ labels.T) > 0
    assert relevant.diagonal().all()
    share = relevant.mean()
    assert 0.2 < share < 0.9, share  # far above the 1/21 of a single-label set


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.jpg 0 1 0\nb.jpg 1 0\n", r"bad.txt line 2: 2 labels, expected 3"),
        ("a.jpg 0 1 0\nb.jpg 1 2 0\n", r"bad.txt line 2: labels must be 0 or 1, found '2'"),
        ("a.jpg 0 1 0\nb.jpg\n", r"bad.txt line 2: a path with no labels"),
        (
            "a.jpg 0 1 0\nb.jpg 1 0 0\na.jpg 0 1 0\n",
            r"bad.txt line 3: a.jpg already listed on line 1",
        ),
        ("", r"bad.txt: no items"),
    ],
)
def test_bad_list_files(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_list_file(_write(tmp_path / "bad.txt", text))


def test_wrong_width_against_expected_classes(tmp_path):
    with pytest.raises(ValueError, match=r"ok.txt line 1: 3 labels, expected 4"):
        read_list_file(_write(tmp_path / "ok.txt", "a.jpg 0 1 0\n"), n_classes=4)
    with pytest.raises(ValueError, match="list file missing"):
        read_list_file(tmp_path / "absent.txt")


def test_all_zero_rows_dropped_with_count(tmp_path):
    path = _write(tmp_path / "z.txt", "a.jpg 0 1 0\nb.jpg 0 0 0\n\nc.jpg 1 1 0\nd.jpg 0 0 0\n")
    with pytest.warns(
        UserWarning, match=r"z.txt: dropped 2 items with all-zero label rows \(lines \[2, 5\]"
    ):
        lst = read_list_file(path)
    assert lst.relative_paths == ["a.jpg", "c.jpg"] and lst.lines.tolist() == [1, 4]
    assert lst.n_dropped == 2 and lst.labels.tolist() == [[0, 1, 0], [1, 1, 0]]


def _toy_tree(tmp_path, *, corrupt: bool = False, overlap: bool = False, database: bool = False):
    """A real image tree: 12 small JPEG/PNG files in 3 classes and its lists."""
    lists = tmp_path / "data" / "toy"
    rng = np.random.default_rng(0)
    lines = {"test.txt": [], "train.txt": [], "database.txt": []}
    for k in range(12):
        label = [0, 0, 0]
        label[k % 3] = 1
        rel = f"img/{k:02d}.{'png' if k % 2 else 'jpg'}"
        (lists / "img").mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(20 + k, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(lists / rel)
        part = "test.txt" if k < 3 else "train.txt"
        lines[part].append(f"{rel} {' '.join(map(str, label))}")
        lines["database.txt"].append(lines[part][-1])
    if overlap:
        lines["test.txt"].append(lines["train.txt"][0])
    for fname, rows in lines.items():
        if fname != "database.txt" or database:
            _write(lists / fname, "\n".join(rows) + "\n")
    if corrupt:
        (lists / "img" / "04.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
        (lists / "img" / "07.png").unlink()
    return lists


def _toy_protocol(tmp_path):
    return build_list_protocol(
        name="toy",
        folder="toy",
        n_classes=3,
        topk=None,
        seed=0,
        root=tmp_path / "data",
        val_fraction=0.25,
        image_root=None,
    )


def test_image_tree_protocol_and_datasets(tmp_path):
    _toy_tree(tmp_path)
    p = _toy_protocol(tmp_path)
    assert (len(p.query), len(p.train), len(p.val), len(p.database)) == (3, 6, 3, 9)
    assert _per_class_ok(p.val)
    assert check_images(p.database) == [] and check_images(p.query) == []
    for scale, side in (("cpu", 32), ("smoke", 32), ("paper", 224)):
        for train in (False, True):
            ds = make_torch_dataset(p.train, scale=scale, train=train)
            image, label, index = ds[2]
            assert image.shape == (3, side, side) and image.dtype == torch.float32
            assert torch.equal(label, torch.from_numpy(p.train.labels[2]).float()) and index == 2


def _per_class_ok(split) -> bool:
    return split.labels.sum(axis=0).tolist() == [1, 1, 1]


def test_corrupt_and_missing_images_name_file_and_line(tmp_path):
    lists = _toy_tree(tmp_path, corrupt=True)
    p = _toy_protocol(tmp_path)
    problems = check_images(p.database)
    assert len(problems) == 2
    assert any("corrupt image" in m and "04.jpg" in m and "train.txt line 2" in m for m in problems)
    assert any("missing" in m and "07.png" in m and "train.txt line 5" in m for m in problems)
    pos = p.database.paths.index(str(lists / "img" / "04.jpg"))
    ds = make_torch_dataset(p.database, scale="cpu", train=False)
    with pytest.raises(
        ValueError, match=r"unreadable or corrupt image: .*04.jpg \(.*train.txt line 2\)"
    ):
        ds[pos]


def test_query_train_overlap_is_an_error(tmp_path):
    _toy_tree(tmp_path, overlap=True)
    with pytest.raises(
        ValueError, match=r"toy: 1 items are in both query and train, e.g. img/03.png"
    ):
        _toy_protocol(tmp_path)


def test_database_txt_is_used_when_given(tmp_path):
    _toy_tree(tmp_path, database=True)
    with pytest.raises(ValueError, match="in both query and database"):
        _toy_protocol(tmp_path)  # this database.txt also lists the queries: refused
    lines = (tmp_path / "data" / "toy" / "database.txt").read_text().splitlines()
    _write(tmp_path / "data" / "toy" / "database.txt", "\n".join(lines[3:]) + "\n")
    p = _toy_protocol(tmp_path)
    assert p.manifest["policy"]["database"] == "database.txt" and len(p.database) == 9
    assert np.all(p.train_in_database >= 0)  # same paths in train.txt and database.txt


def test_conflicting_labels_across_files(tmp_path):
    lists = _toy_tree(tmp_path, database=True)
    rows = (lists / "database.txt").read_text().splitlines()[3:]
    rows[0] = rows[0].rsplit(" ", 3)[0] + " 0 0 1"
    _write(lists / "database.txt", "\n".join(rows) + "\n")
    with pytest.raises(
        ValueError,
        match=r"database.txt line 1: img/03.png has other labels than in .*train.txt line 1",
    ):
        _toy_protocol(tmp_path)


# ---- issue 16, case 6: encodings, byte-order mark, paths with spaces, folders, repeats
def test_encodings_and_byte_order_marks(tmp_path):
    text = "dir/été 1.jpg 0 1 0\nb.jpg 1 0 0\n"
    for name, data in (("bom.txt", b"\xef\xbb\xbf" + text.encode()),
                       ("utf16.txt", text.encode("utf-16"))):
        (tmp_path / name).write_bytes(data)
        lst = read_list_file(tmp_path / name)
        assert lst.relative_paths == ["dir/été 1.jpg", "b.jpg"], name  # no BOM in the path
    (tmp_path / "latin1.txt").write_bytes("a.jpg 1 0 0\nc/caf\xe9.jpg 0 1 0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt line 2: not UTF-8 text \(byte 0xe9 at "
                                         r"column 6\); save the list as UTF-8"):
        read_list_file(tmp_path / "latin1.txt")


def test_paths_with_spaces_keep_them_and_labels_are_the_last_columns(tmp_path):
    path = _write(tmp_path / "sp.txt", "my photos/a b.jpg 0 1 0\r\n  c  d.png 1 0 0  \n")
    lst = read_list_file(path, n_classes=3)
    assert lst.relative_paths == ["my photos/a b.jpg", "c  d.png"]
    assert lst.labels.tolist() == [[0, 1, 0], [1, 0, 0]]
    assert read_list_file(path).relative_paths == lst.relative_paths  # width from line 1
    # a wrong width is still named as such, with or without spaces in the path
    with pytest.raises(ValueError, match=r"line 1: 3 labels, expected 4"):
        read_list_file(path, n_classes=4)
    bad = _write(tmp_path / "w.txt", "a b.jpg 0 1 0\nc d.jpg 1 0 0 1\n")
    with pytest.raises(ValueError, match=r"w.txt line 2: 4 labels, expected 3"):
        read_list_file(bad)


def test_a_list_that_is_a_folder_is_named(tmp_path):
    lists = tmp_path / "data" / "toy"
    _write(lists / "test.txt", "a.jpg 1 0 0\n")
    (lists / "train.txt").mkdir()
    with pytest.raises(ValueError, match=r"list .*toy/train.txt is a folder, not a list file"):
        _toy_protocol(tmp_path)
    with pytest.raises(ValueError, match=r"list file .*train.txt is a folder, not a file"):
        read_list_file(lists / "train.txt")
    (lists / "train.txt").rmdir()
    with pytest.raises(FileNotFoundError, match=r"toy \(no train.txt\)"):
        _toy_protocol(tmp_path)


def test_each_bad_image_is_reported_once(tmp_path):
    _toy_tree(tmp_path, corrupt=True)
    p = _toy_protocol(tmp_path)
    # the database holds the training images: checked together, each file is named once
    problems = check_images(p)
    assert len(problems) == 2 and len(check_images(p.train, p.database)) == 2
    assert sum("04.jpg" in m for m in problems) == 1 and sum("07.png" in m for m in problems) == 1
