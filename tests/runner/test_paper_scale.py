"""The paper scale without a GPU: a paper-preset cell end to end on a list dataset of real
images, the weights and protocol checks before training, sharding and claims, and the
dataset check."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from hashlib_core.runner import cli, execution, grids, locking
from hashlib_core.runner.checks import preflight_protocols
from hashlib_core.runner.grids import GridCell
from hashlib_core.runner.plan import checkpoint_dir, checkpoint_root, claim_path, shard_cells

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
VEHICLES = {0, 1, 8, 9}


def _labels(cls: int, width: int = 21) -> str:
    """21 NUS-WIDE-like labels: the CIFAR class, and label 20 for vehicles (multi-label)."""
    v = [0] * width
    v[cls] = 1
    if cls in VEHICLES:
        v[20] = 1
    return " ".join(map(str, v))


def write_list_dataset(shared_data: Path, root: Path, *, per_class: tuple[int, int, int],
                       folder: str = "nuswide_21") -> Path:
    """The documented layout with real CIFAR-10 JPEG files:
    ``<root>/hashing-lists/<folder>/{test,train,database}.txt`` and the images beside the
    lists under ``images/`` (the default image root). ``per_class`` = (queries, training
    images, further database images) per class; the database holds train + further."""
    lists = root / "hashing-lists" / folder
    (lists / "images").mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {"test": [], "train": [], "extra": []}
    with zipfile.ZipFile(shared_data / "cifar10-jpeg" / "cifar10_jpeg.zip") as zf:
        for c, name in enumerate(CLASSES):
            k = 0
            for part, n in zip(("test", "train", "extra"), per_class):
                for _ in range(n):
                    rel = f"images/{name}_{k:04d}.jpg"
                    (lists / rel).write_bytes(zf.read(f"train/{name}/{k:04d}.jpg"))
                    lines[part].append(f"{rel} {_labels(c)}\n")
                    k += 1
    (lists / "test.txt").write_text("".join(lines["test"]))
    (lists / "train.txt").write_text("".join(lines["train"]))
    (lists / "database.txt").write_text("".join(lines["train"] + lines["extra"]))
    return lists


# --------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_paper_cell_end_to_end_on_cpu(shared_data, tmp_path, monkeypatch):
    """One paper-preset cell (ResNet50, 224 px, RMSprop, bf16 ignored on CPU, a loader
    worker) on 40 real images in the documented layout, weights from a state-dict file
    passed with --pretrained, one epoch: the runner refuses the small protocol without
    the explicit flag, then trains, writes the record (weights' sha256, world size, global
    batch, the deviation), deletes the checkpoints and fills the book's table."""
    import torchvision

    from hashlib_core.report import comparison, markdown, results_tables
    from hashlib_core.report.reported import load_reported
    from hashlib_core.results import load_results, read_record, record_dir

    data = tmp_path / "data"
    write_list_dataset(shared_data, data, per_class=(1, 2, 1))  # 10 queries, 20 train, 30 db
    weights = tmp_path / "resnet50-random.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet50().state_dict(), weights)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    monkeypatch.setenv("HASHLIB_DATA", str(data))
    monkeypatch.setenv("HASHLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HASHLIB_IMAGES", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    root, art, logs = tmp_path / "results", tmp_path / "artifacts", tmp_path / "logs"
    args = ["--scale", "paper", "--datasets", "nuswide", "--methods", "csq", "--bits", "16",
            "--epochs", "1", "--pretrained", str(weights), "--root", str(root),
            "--artifacts", str(art), "--logs", str(logs), "--no-book"]

    t0 = time.perf_counter()
    assert cli.main(args) == 2  # sizes are not the paper's: refused before training
    assert time.perf_counter() - t0 < 60
    assert not root.exists() or not list(root.rglob("record.json"))

    assert cli.main(args + ["--allow-protocol-deviation"]) == 0
    key = {"scale": "paper", "protocol": "nuswide-21", "method": "csq", "n_bits": 16, "seed": 0}
    rec = read_record(record_dir(root, **key))
    cfg, run = rec["config"], rec["provenance"]["run"]
    assert (cfg["backbone"], cfg["image_size"], cfg["optimizer"]) == ("resnet50", 224, "rmsprop")
    assert cfg["pretrained"] == str(weights) and cfg["epochs"] == 1
    assert run["weights"]["sha256"] == sha and run["weights"]["source"] == "file"
    assert run["world_size"] == 1 and run["global_batch"] == 64
    assert run["protocol_deviation_allowed"] is True
    assert any("database: 30 images" in d for d in run["protocol_deviations"])
    assert rec["history"][0]["val_map"] is not None  # validation ran (top-k clipped to 18)
    assert 0.0 <= rec["scalars"]["map"] <= 1.0
    # checkpoints deleted once the record exists; no claim left behind
    ck = checkpoint_root(root)
    assert not list(ck.rglob("*.pt")) and not list(ck.rglob("*.claim"))

    results = load_results("paper", root=root)
    assert bool(results.protocol_deviation.iloc[0]) is True
    (caption, table), = comparison.dataset_tables(results, load_reported(), dataset="nuswide",
                                              scale="paper")
    assert table.loc["CSQ", ("16 bits", "here")] == f"{rec['scalars']['map']:.3f}"
    assert table.loc["CSQ", ("32 bits", "here")] == markdown.MISSING
    assert "differ from the paper's protocol" in caption
    # the deviation marked where it is read (issue 25): the results page's table of that
    # length says what deviates, in its caption
    page = "\n".join(results_tables.results_page(results, load_reported(), dataset="nuswide",
                                          scale="paper", out_dir=tmp_path / "page",
                                          page="results_nuswide"))
    assert "‡ **1 run here deviates from the paper's setting**" in page
    assert "database 30 images" in page or "database: 30 images" in page
    assert "1 epoch" in page or "epochs" in page


# --------------------------------------------------------------------------- weights
def test_offline_without_weights_stops_in_seconds(tmp_path, monkeypatch, capsys):
    """No weights file and no network: the runner stops before any cell with one line
    naming the missing file and the three ways to supply it."""
    from urllib.error import URLError

    import torch.hub

    def offline(*a, **k):
        raise URLError("[Errno -2] Name or service not known")

    import torchvision  # noqa: F401 - imports are not what is timed (seconds on a busy box)

    import hashlib_core.methods  # noqa: F401

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    t0 = time.perf_counter()
    rc = cli.main(["--scale", "paper", "--datasets", "cifar10", "--methods", "csq",
                   "--bits", "16", "--root", str(tmp_path / "r"), "--no-book"])
    took = time.perf_counter() - t0
    err = capsys.readouterr().err.strip()
    assert rc == 2 and took < 10
    assert len(err.splitlines()) == 1
    target = tmp_path / "torch" / "hub" / "checkpoints" / "resnet50-0676ba61.pth"
    assert str(target) in err and "URLError" in err
    assert "(1) --pretrained PATH" in err and "(2) copying resnet50-0676ba61.pth" in err
    assert "(3) running once online" in err
    assert not (tmp_path / "r").exists()


def test_resolve_weights(tmp_path, monkeypatch):
    from hashlib_core.models.weights import WeightsUnavailable, resolve_weights

    assert resolve_weights(None).source == "none"
    f = tmp_path / "w.pth"
    f.write_bytes(b"not really weights")
    w = resolve_weights(str(f))
    assert w.sha256 == hashlib.sha256(b"not really weights").hexdigest() and w.path == str(f)
    with pytest.raises(WeightsUnavailable, match="state-dict file not found: .*nope.pth"):
        resolve_weights(str(tmp_path / "nope.pth"))
    with pytest.raises(ValueError, match="unknown torchvision weights 'IMAGENET9K'"):
        resolve_weights("IMAGENET9K", "resnet50")
    with pytest.raises(ValueError, match="smallcnn"):
        resolve_weights("IMAGENET1K_V1", "smallcnn")
    # a file already in the torch hub cache is used as it is (no download)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    hub = tmp_path / "th" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "resnet18-f37072fd.pth").write_bytes(b"cached")
    w = resolve_weights("IMAGENET1K_V1", "resnet18", download=False)
    assert w.source == "torchvision" and w.sha256 == hashlib.sha256(b"cached").hexdigest()
    with pytest.raises(WeightsUnavailable, match="resnet50-0676ba61.pth"):
        resolve_weights("IMAGENET1K_V1", "resnet50", download=False)


# --------------------------------------------------------------------------- grid
def test_shards_cover_the_grid_exactly_once(tmp_path, capsys):
    cells = grids.grid("paper")
    parts = [shard_cells(cells, (i, 3)) for i in range(3)]
    assert sorted(map(id, sum(parts, []))) == sorted(map(id, cells))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    # through the command line: 0/2 and 1/2 list disjoint cells whose union is the grid
    listed = []
    for i in range(2):
        assert cli.main(["--scale", "paper", "--dry-run", "--shard", f"{i}/2",
                         "--root", str(tmp_path)]) == 0
        listed.append([ln.split()[1] for ln in capsys.readouterr().out.splitlines()
                       if ln.split()[0] in ("done", "todo", "rerun", "resume", "wait")])
    assert not set(listed[0]) & set(listed[1])
    assert sorted(listed[0] + listed[1]) == sorted(c.label for c in cells)
    for bad in ("2/2", "a/b", "1"):
        assert cli.main(["--scale", "paper", "--dry-run", "--shard", bad]) == 2
        assert "--shard" in capsys.readouterr().err


def test_paper_grid_lists_no_cell_that_cannot_run():
    """Shallow methods need GIST of in-memory images: only CIFAR-10's protocol has them."""
    from hashlib_core.data.listfile import LIST_PROTOCOLS

    cells = grids.grid("paper")
    shallow = [c for c in cells if c.method in grids.SHALLOW]
    assert shallow and all(c.protocol == "cifar10-i" for c in shallow)
    assert not [c for c in cells if c.method in grids.SHALLOW and c.protocol in LIST_PROTOCOLS]
    for proto in ("imagenet100", "nuswide-21", "coco"):
        assert {c.method for c in cells if c.protocol == proto} == set(grids.DEEP)
    rerun = (REPO / "book" / "rerun.md").read_text()
    assert "shallow methods" in rerun and "GIST" in rerun


def test_claims_keep_two_runners_apart(tmp_path, monkeypatch):
    cell = GridCell("csq", "cifar10-smoke", 16)
    path = claim_path(tmp_path / "results", "smoke", cell)
    assert locking.try_claim(path)
    assert not locking.try_claim(path)  # held by a live process (this one)
    info = json.loads(path.read_text())
    assert info["pid"] == os.getpid()
    # a claim of a dead process on this machine is taken over
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    path.write_text(json.dumps({**info, "pid": int(dead)}))
    assert locking.try_claim(path)
    # the runner skips a cell another runner holds, and trains nothing
    ran = []
    monkeypatch.setattr(execution, "run_cell", lambda *a, **k: ran.append(a))
    summary = execution.run_grid([cell], scale="smoke", root=tmp_path / "results",
                                 progress=False)
    assert summary.claimed == [cell.label] and not ran and path.exists()
    path.unlink()
    summary = execution.run_grid([cell], scale="smoke", root=tmp_path / "results",
                                 progress=False)
    assert summary.done == [cell.label] and len(ran) == 1 and not path.exists()

    # a cell planned to run or resume whose record another runner wrote meanwhile is skipped
    from hashlib_core.results import RECORD, record_dir
    from hashlib_core.runner.plan import Plan

    folder = record_dir(tmp_path / "results", **cell.key("smoke"))
    folder.mkdir(parents=True)
    (folder / RECORD).write_text("{}")
    for action in ("run", "resume"):
        summary = execution.run_grid([cell], scale="smoke", root=tmp_path / "results",
                                     progress=False, plans=[Plan(cell, action)])
        assert summary.skipped == [cell.label] and len(ran) == 1


def test_checkpoints_live_beside_their_root(tmp_path):
    cell = GridCell("csq", "cifar10-i", 16)
    a = checkpoint_dir(tmp_path / "a" / "results", "paper", cell)
    b = checkpoint_dir(tmp_path / "b" / "results", "paper", cell)
    assert a != b
    assert a.is_relative_to(tmp_path / "a" / "results.checkpoints")


def test_makefile_passes_the_device_and_needs_no_install():
    env = {**os.environ, "ENV": "active", "PYTHON": sys.executable}
    out = subprocess.run(["make", "-n", "reproduce", "SCALE=paper", "DEVICE=cuda"], cwd=REPO,
                         capture_output=True, text=True, env=env, check=True).stdout
    assert "hashlib_core.reproduce --scale paper --device cuda" in out
    assert "pip install" not in out


# --------------------------------------------------------------------------- data check
def test_data_check_names_every_bad_file_and_line(shared_data, tmp_path, capsys, monkeypatch):
    from hashlib_core.data.__main__ import main

    lists = write_list_dataset(shared_data, tmp_path, per_class=(1, 2, 0))
    img = lists / "images"
    (img / "cat_0001.jpg").unlink()  # a training image missing
    half = (img / "dog_0002.jpg").read_bytes()
    (img / "dog_0002.jpg").write_bytes(half[: len(half) // 2])  # truncated
    (img / "frog_0000.jpg").write_bytes(b"GIF89a not an image")  # a query, corrupt
    train = (lists / "train.txt").read_text().splitlines(True)
    train[3] = train[3].rsplit(" ", 1)[0] + "\n"  # 20 labels
    train[5] = train[5][:-2] + "2\n"  # a label 2
    (lists / "train.txt").write_text("".join(train))
    (lists / "database.txt").unlink()

    rc = main(["check", "nuswide-21", "--root", str(tmp_path), "--workers", "1"])
    out = capsys.readouterr().out
    assert rc == 1
    t, q = lists / "train.txt", lists / "test.txt"
    for expected in (f"{t}:4: 20 labels, expected 21", f"{t}:7: image file missing",
                     f"{t}:6: labels must be 0 or 1, found '2'",
                     f"{t}:12: unreadable or corrupt image", f"{q}:7: unreadable or corrupt image",
                     f"{lists / 'database.txt'}: missing",
                     f"{q}: 10 items, the paper's protocol has 2,100"):
        assert expected in out, expected
    bad_lines = [ln for ln in out.splitlines() if ln.startswith(str(lists))]
    # 5 bad items, no database.txt (described once: no database size line), 2 sizes
    assert len(bad_lines) == 8

    # the runner refuses the paper scale on it before any training, even when allowed
    # to run on other sizes, naming the same files and lines
    monkeypatch.setenv("HASHLIB_DATA", str(tmp_path))
    cells = [GridCell("csq", "nuswide-21", 16)]
    problems = preflight_protocols("paper", cells, True, tmp_path / "results")
    assert len(problems) == 5 and all(p.startswith("nuswide-21: ") for p in problems)
    assert any(f"{t}:7: image file missing" in p for p in problems)
    assert not list((tmp_path / "results.checkpoints").rglob("*.ok"))

    # the same folder made whole, at the paper's sizes it would pass: only sizes remain
    write_list_dataset(shared_data, tmp_path, per_class=(1, 2, 0))
    rc = main(["check", "nuswide", "--root", str(tmp_path), "--workers", "2"])
    out = capsys.readouterr().out
    assert rc == 1
    assert all("the paper's protocol has" in ln
               for ln in out.splitlines() if ln.startswith(str(lists)))
    # the runner: sizes only are refused unless allowed; a passed image check is stamped
    problems = preflight_protocols("paper", cells, False, tmp_path / "results")
    assert len(problems) == 1 and "--allow-protocol-deviation" in problems[0]
    assert len(list((tmp_path / "results.checkpoints").rglob("*.ok"))) == 1
    assert preflight_protocols("paper", cells, True, tmp_path / "results") == []


def test_data_layout_is_printed(capsys):
    from hashlib_core.data.__main__ import main

    assert main(["layout", "coco"]) == 0
    out = capsys.readouterr().out
    assert "hashing-lists/coco/{test.txt,train.txt,database.txt}" in out and "HASHLIB_IMAGES" in out


def test_global_batch_splits_over_ranks():
    from hashlib_core.engine.distributed import DistInfo
    from hashlib_core.engine.train import per_rank_batch

    assert per_rank_batch(64, DistInfo()) == 64
    assert per_rank_batch(64, DistInfo(rank=1, world_size=4, local_rank=1)) == 16
    with pytest.raises(ValueError, match="does not split evenly over 3"):
        per_rank_batch(64, DistInfo(world_size=3))


def test_paper_preset_is_fast_and_keeps_old_keys():
    from hashlib_core.engine import RunConfig

    cfg = RunConfig.from_scale("paper", method="csq", n_bits=64)
    assert cfg.amp and cfg.amp_dtype == "bfloat16" and not cfg.deterministic
    assert cfg.num_workers == min(16, max(0, (len(os.sched_getaffinity(0)) - 1)))
    cpu = RunConfig.from_scale("cpu", method="csq", n_bits=64)
    assert cpu.deterministic and cpu.num_workers == 0
    # a field added later enters the key only when changed: earlier checkpoints still match
    assert cpu.result_key() != cpu.replace(deterministic=False).result_key()
    assert cpu.result_key() == cpu.replace(allow_protocol_deviation=True).result_key()
    assert np.unique([cpu.result_key(), cpu.replace(num_workers=4).result_key()]).size == 1


def test_rerun_page_times_are_the_estimate_of_the_grid():
    """The hours on the rerun page are what benchmarks/estimate_grid.py computes from the
    grid and the figures the page states (2,000 / 4,000 images per second)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from estimate_grid import estimate

    page = (REPO / "book" / "rerun.md").read_text()
    assert "2,000 training and 4,000 encoding images per second" in page
    rows = estimate(2000, 4000)
    names = {"cifar10": "CIFAR-10", "imagenet100": "ImageNet-100", "nuswide": "NUS-WIDE",
             "coco": "MS-COCO"}
    # the shallow hours are the wall times of the committed cpu records, which move while
    # the cpu grid reruns them (and with the machine's load): the page's own shallow figure
    # enters the total; every GPU row is the estimate exactly
    shallow = None
    for r in rows:
        line = next(ln for ln in page.splitlines()
                    if ln.startswith(f"| {names[r['dataset']]} | {r['part']} |"))
        hours = float(line.rstrip(" |").rsplit("|", 1)[1])
        if r["part"].startswith("shallow"):
            shallow = hours
        else:
            assert f"{hours:.1f}" == f"{r['hours']:.1f}", line
    gpu = sum(r["hours"] for r in rows if not r["part"].startswith("shallow"))
    total = float(page.split("**about ", 1)[1].split("**", 1)[0])
    assert shallow is not None and 0 < shallow < 0.2 * gpu
    assert round(gpu + shallow) == total
    assert f"**{sum(r['cells'] for r in rows)}**" in page


@pytest.mark.slow
def test_one_cell_on_two_processes_through_torchrun(shared_data, cache_dir, monkeypatch):
    """--gpus-per-cell's path on the CPU (gloo): the result comes back from rank 0 with the
    world size and the global batch, which is split over the two processes."""
    from hashlib_core.data import load_protocol
    from hashlib_core.engine import RunConfig
    from hashlib_core.engine.torchrun import run_torchrun

    load_protocol("cifar10-smoke", cache_dir=cache_dir)  # decode once, before the ranks
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cfg = RunConfig.from_scale("smoke", method="csq", n_bits=16, epochs=1, eval_every=1,
                               cache_dir=str(cache_dir), threads=1)
    r = run_torchrun(cfg, 2, timeout=600)
    assert r.run_info["world_size"] == 2
    assert r.run_info["global_batch"] == 64 and r.run_info["per_device_batch"] == 32
    assert r.query_codes.shape == (100, 16) and r.db_codes.shape == (2000, 16)
    assert 0.0 < r.scalars["map"] <= 1.0


def test_engine_refuses_a_protocol_that_is_not_the_papers(shared_data, monkeypatch):
    """The engine's own check (the notebook and the engine's command line go through it):
    the shared NUS-WIDE lists lack database.txt, so the database is not the paper's."""
    from hashlib_core.data import load_protocol
    from hashlib_core.engine import RunConfig
    from hashlib_core.engine.train import ProtocolDeviation, protocol_check

    monkeypatch.setenv("HASHLIB_DATA", str(shared_data))
    p = load_protocol("nuswide-21")
    cfg = RunConfig.from_scale("paper", method="csq", n_bits=16, protocol="nuswide-21")
    with pytest.raises(ProtocolDeviation, match="database: 10,500 images, the paper's 193,734"):
        protocol_check(cfg, p)
    info = protocol_check(cfg.replace(allow_protocol_deviation=True), p)
    assert info["protocol_deviation_allowed"] is True
    assert info["paper_sizes"]["database"] == 193_734
    assert protocol_check(cfg.replace(scale="cpu", backbone="smallcnn", pretrained=None,
                                      image_size=32), p)["protocol_deviations"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_cuda_requested_without_cuda_stops_before_the_grid(tmp_path, capsys):
    rc = cli.main(["--scale", "smoke", "--methods", "csq", "--bits", "16",
                   "--device", "cuda", "--root", str(tmp_path), "--no-book"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "CUDA is not available" in err
