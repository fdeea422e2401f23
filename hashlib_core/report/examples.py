"""Retrieval examples: the images two methods return for a few fixed queries.

For a handful of queries chosen with a fixed seed (one per class, classes drawn at
random), :func:`retrieval_examples` ranks the database by Hamming distance to each
query's stored code (ties broken by database index, the convention of
:mod:`hashlib_core.metrics`) and keeps the top ``k``; :func:`examples_figure` draws the
query image beside the returned images, each framed by whether it shares the query's
label. Images come from the data set the protocol was built on (CIFAR-10 here), picked
by the indices of the protocol manifest stored with the runs.

Database codes: a run writes its database codes (bit-packed with ``np.packbits``, with
the database labels, an ``.npz`` file named in its record under ``files.db_codes``) to the
artifacts folder, which is not committed. For the runs the book's examples show, the same
file is also stored in the results store, in the run's own record folder under the name
its record gives (``results/<scale>/<protocol>/<method>/<run>/db_codes-<sha12>.npz``,
checked against the record's SHA-256): ``scripts/store_db_codes.py`` (:func:`store_db_codes`)
copies it there from an artifacts folder. :func:`runs_with_db_codes` lists the runs whose
database codes are stored, and the page picks among them, so the examples search the
protocol's whole database. Only where no such run exists do both methods retrieve from
the other queries instead (leave one out), and the caption says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hashlib_core.report.figures.style import OKABE_ITO, Drawn
from hashlib_core.report.names import display_name

CORRECT, WRONG = OKABE_ITO["bluish green"], OKABE_ITO["vermillion"]
#: how a returned image is framed, and the words the caption uses for it: whether it
#: shares the query's class -> (colour, matplotlib line style, words)
FRAMES: dict[bool, tuple[str, Any, str]] = {
    True: (CORRECT, "-", "a solid green frame"),
    False: (WRONG, (0, (2.0, 1.5)), "a dashed red-orange (vermillion) frame"),
}


def stored_db_codes(record: dict) -> Path | None:
    """The database-codes file stored in ``record``'s own folder (the name its record
    gives under ``files.db_codes``), or None when the record names none or the file is
    not there."""
    entry = (record.get("files") or {}).get("db_codes")
    if not entry:
        return None
    path = Path(record["_path"]) / entry["name"]
    return path if path.is_file() else None


def runs_with_db_codes(scale: str, protocol: str, methods: list[str], *,
                       root: str | Path = "results") -> list[tuple[int, int]]:
    """``(n_bits, seed)`` of the default runs for which every one of ``methods`` has its
    database codes stored in the results store (:func:`stored_db_codes`), sorted."""
    from hashlib_core.results import iter_records

    have: dict[tuple[int, int], set[str]] = {}
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if key["protocol"] != protocol or key["variant"] is not None \
                or key["method"] not in methods or stored_db_codes(rec) is None:
            continue
        have.setdefault((int(key["n_bits"]), int(key["seed"])), set()).add(key["method"])
    return sorted(k for k, ms in have.items() if ms >= set(methods))


def choose_run(available: list[tuple[int, int]], *, n_bits: int, seed: int
               ) -> tuple[int, int]:
    """The run the examples page shows: ``(n_bits, seed)`` when it is among ``available``,
    else the available run nearest in code length (then the lowest seed); ``(n_bits,
    seed)`` itself when nothing is available."""
    if not available or (n_bits, seed) in available:
        return n_bits, seed
    return min(available, key=lambda bs: (abs(bs[0] - n_bits), bs[0], bs[1]))


def store_db_codes(artifacts: str | Path, *, root: str | Path = "results",
                   scale: str = "cpu", methods: list[str] | None = None,
                   bits: list[int] | None = None, seeds: list[int] | None = None,
                   protocol: str | None = None, dry_run: bool = False) -> list[str]:
    """Copy the database codes of stored default runs from ``artifacts`` into the runs'
    record folders (:func:`stored_db_codes`); returns one line per run considered.

    A file is copied only when its SHA-256 equals its record's and it holds as many codes
    as the run's database and as many bits as the run. Runs already stored are left as
    they are.

    Raises
    ------
    ValueError
        If a file in ``artifacts`` does not match its record (one ``error:`` line naming
        the file and what differs).
    """
    import hashlib
    import io
    import shutil

    from hashlib_core.results import iter_records, record_dir

    lines = []
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if key["variant"] is not None or (protocol and key["protocol"] != protocol) \
                or (methods and key["method"] not in methods) \
                or (bits and int(key["n_bits"]) not in bits) \
                or (seeds and int(key["seed"]) not in seeds):
            continue
        entry = (rec.get("files") or {}).get("db_codes")
        label = f"{key['protocol']}/{key['method']}/{key['n_bits']}b_seed{key['seed']}"
        if not entry:
            lines.append(f"skipped {label}: its record names no database codes")
            continue
        if stored_db_codes(rec) is not None:
            lines.append(f"present {label}: {entry['name']}")
            continue
        src = record_dir(artifacts, **key) / entry["name"]
        if not src.is_file():
            lines.append(f"skipped {label}: {src} not found")
            continue
        data = src.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"error: {src}: SHA-256 differs from its record "
                             f"({Path(rec['_path']) / 'record.json'}); not copied")
        with np.load(io.BytesIO(data)) as z:
            packed, n_bits = z["packed"], int(z["n_bits"])
        n_db = ((rec.get("provenance") or {}).get("run") or {}) \
            .get("protocol_sizes", {}).get("database")
        if n_bits != int(key["n_bits"]) or packed.dtype != np.uint8 \
                or (n_db is not None and packed.shape[0] != int(n_db)):
            raise ValueError(f"error: {src}: packed codes {packed.shape} {packed.dtype} of "
                             f"{n_bits} bits, but the run has {key['n_bits']} bits and a "
                             f"database of {n_db}; not copied")
        dest = Path(rec["_path"]) / entry["name"]
        if not dry_run:
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)
        lines.append(f"{'would store' if dry_run else 'stored'} {label}: {dest} "
                     f"({len(data) / 1024:.0f} KiB: {packed.shape[0]:,} codes x "
                     f"{packed.shape[1]} bytes packed, with labels)")
    return lines


def default_artifacts(root: str | Path) -> Path:
    """Where the database codes of the runs under ``root`` are: ``<root>/../artifacts``
    when it exists (``runs/smoke/results`` -> ``runs/smoke/artifacts``), else
    ``runs/artifacts`` of the repository."""
    sibling = Path(root).resolve().parent / "artifacts"
    if sibling.is_dir():
        return sibling
    return Path(__file__).resolve().parents[2] / "runs" / "artifacts"


def pick_queries(labels: np.ndarray, *, n: int = 5, seed: int = 0) -> np.ndarray:
    """Positions of ``n`` queries of ``n`` different classes, chosen with ``seed``.

    ``labels`` is (n_query,) int or (n_query, n_classes) multi-hot (the first label of
    an item then stands for its class). Fewer classes than ``n``: one query per class.
    """
    labels = np.asarray(labels)
    y = labels.argmax(1) if labels.ndim == 2 else labels
    if len(y) == 0:
        raise ValueError("pick_queries: no query labels")
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.unique(y))[:n]
    return np.array([rng.choice(np.flatnonzero(y == c)) for c in sorted(classes)])


def hamming_topk(query_codes: np.ndarray, db_codes: np.ndarray, k: int, *,
                 exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices (n_query, k) of the ``k`` database codes nearest in Hamming distance to
    each query, ties broken by database index; ``exclude[i]`` (optional) is a database
    index never returned for query ``i`` (the query itself when the database is the
    query set)."""
    q, d = np.asarray(query_codes, dtype=np.int32), np.asarray(db_codes, dtype=np.int32)
    if q.ndim != 2 or d.ndim != 2 or q.shape[1] != d.shape[1]:
        raise ValueError(f"hamming_topk: query codes {q.shape} and database codes {d.shape} "
                         "must be 2-D with the same number of bits")
    if k > len(d) - (exclude is not None):
        raise ValueError(f"hamming_topk: k={k} but the database holds {len(d)} codes")
    dist = (q.shape[1] - q @ d.T) // 2
    if exclude is not None:
        dist[np.arange(len(q)), exclude] = q.shape[1] + 1
    return np.argsort(dist, axis=1, kind="stable")[:, :k]


@dataclass
class Examples:
    """The retrieved lists of several methods for the same queries.

    Attributes
    ----------
    query_index : ndarray (n,)
        Indices of the query images in the data set's standard order.
    query_class : ndarray (n,)
    returned : dict of method -> ndarray (n, k)
        Data-set indices of the returned images, nearest first.
    correct : dict of method -> ndarray (n, k) bool
        Whether each returned image shares a label with its query.
    database : str
        ``"database"`` (the protocol's database) or ``"queries"`` (the other queries:
        the database codes were not available).
    n_db : int
        Size of the set searched.
    """

    query_index: np.ndarray
    query_class: np.ndarray
    returned: dict[str, np.ndarray] = field(default_factory=dict)
    correct: dict[str, np.ndarray] = field(default_factory=dict)
    database: str = "database"
    n_db: int = 0


def _as_class(labels: np.ndarray) -> np.ndarray:
    return labels.argmax(1) if labels.ndim == 2 else labels


def retrieval_examples(scale: str, protocol: str, methods: list[str], n_bits: int, *,
                       seed: int = 0, root: str | Path = "results",
                       artifacts: str | Path | None = None, n_queries: int = 5, k: int = 10,
                       query_seed: int = 0, image_labels: np.ndarray | None = None
                       ) -> Examples:
    """Rank the database for ``n_queries`` fixed queries with each method's codes.

    Parameters
    ----------
    methods : list of str
        Methods with a stored run at ``n_bits`` and ``seed`` (default variant).
    artifacts : path, optional
        The database codes folder; when it lacks them, :func:`default_artifacts` is
        tried.
    image_labels : ndarray, optional
        Labels of the data set in standard order; when given, each query's stored label
        is checked against the label of the image its manifest index points to.

    Raises
    ------
    ValueError
        If a run's stored query labels disagree with the manifest's order, or the runs
        of two methods hold different queries.
    """
    from hashlib_core.results import load_manifest

    splits = load_manifest(scale, protocol, root=root)["splits"]
    q_index = np.asarray(splits["query"]["indices"])
    db_index = np.asarray(splits["database"]["indices"])
    codes, q_labels = _query_codes(scale, protocol, methods, n_bits, seed=seed, root=root,
                                   n_queries=len(q_index))
    db = _database_codes(scale, protocol, methods, n_bits, seed=seed, root=root,
                         artifacts=artifacts)
    if q_labels is None:
        raise ValueError("retrieval_examples: no method given")
    qy = _as_class(q_labels)
    if image_labels is not None:
        _check_image_labels(image_labels, q_index, qy, protocol=protocol)
    pick = pick_queries(q_labels, n=n_queries, seed=query_seed)
    use_db = len(db) == len(methods) and all(len(d[0]) == len(db_index) for d in db.values())
    out = Examples(query_index=q_index[pick], query_class=qy[pick],
                   database="database" if use_db else "queries",
                   n_db=len(db_index) if use_db else len(q_index) - 1)
    for m in methods:
        if use_db:
            d_codes, d_labels, d_index = db[m][0], db[m][1], db_index
            top = hamming_topk(codes[m][pick], d_codes, k)
        else:
            d_codes, d_labels, d_index = codes[m], q_labels, q_index
            top = hamming_topk(codes[m][pick], d_codes, k, exclude=pick)
        out.returned[m] = d_index[top]
        if q_labels.ndim == 2:
            out.correct[m] = (q_labels[pick][:, None, :] & d_labels[top]).any(-1)
        else:
            out.correct[m] = d_labels[top] == q_labels[pick][:, None]
    return out


def _query_codes(scale: str, protocol: str, methods: list[str], n_bits: int, *, seed: int,
                 root: str | Path, n_queries: int
                 ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Each method's stored query codes and the query labels they share (None without a
    method); raises ValueError when a run holds a number of queries other than the
    manifest's ``n_queries``, or labels that differ from the first method's."""
    from hashlib_core.results import load_query_codes

    codes = {}
    q_labels = None
    for m in methods:
        qc, ql = load_query_codes(scale, protocol, m, n_bits, seed=seed, root=root)
        if len(qc) != n_queries:
            raise ValueError(f"{m} {n_bits} bits seed {seed}: {len(qc)} query codes but the "
                             f"manifest of {protocol} lists {n_queries} queries")
        if q_labels is None:
            q_labels = ql
        elif not np.array_equal(ql, q_labels):
            raise ValueError(f"{m}: its query labels differ from {methods[0]}'s: the runs "
                             "hold different queries")
        codes[m] = qc
    return codes, q_labels


def _database_codes(scale: str, protocol: str, methods: list[str], n_bits: int, *,
                    seed: int, root: str | Path, artifacts: str | Path | None
                    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each method's database codes and labels from the first place that holds those of
    every method; the places searched, in order: the results store (each run's record
    folder), ``artifacts``, then :func:`default_artifacts`. Partial (possibly empty) when
    no place holds them all."""
    from hashlib_core.results import load_db_codes

    # the folder given first, then the one beside the results (runs/smoke/results ->
    # runs/smoke/artifacts): the first that holds every method's database codes wins
    # the codes stored in the results store (each in its run's record folder) first
    places = list(dict.fromkeys(
        [Path(root).resolve()]
        + ([Path(artifacts).resolve()] if artifacts is not None else [])
        + [default_artifacts(root)]))
    db = {}
    for place in places:
        db = {}
        for m in methods:
            try:
                db[m] = load_db_codes(scale, protocol, m, n_bits, seed=seed, root=root,
                                      artifacts=place)
            except FileNotFoundError:
                break
        if len(db) == len(methods):
            break
    return db


def _check_image_labels(image_labels: np.ndarray, q_index: np.ndarray, qy: np.ndarray, *,
                        protocol: str) -> None:
    """Raise ValueError when a stored query label differs from the label of the image the
    manifest points to."""
    bad = np.flatnonzero(np.asarray(image_labels)[q_index] != qy)
    if len(bad):
        raise ValueError(f"{protocol}: {len(bad)} stored query labels differ from the "
                         f"labels of the images the manifest points to (first at query "
                         f"{bad[0]}, image {q_index[bad[0]]})")


def examples_figure(ex: Examples, images: np.ndarray, *, class_names, scale: str,
                    protocol: str, n_bits: int, seed: int = 0,
                    top10: dict[str, float] | None = None) -> Drawn:
    """Query images and the top-``k`` images each method returns, framed green (same
    class as the query) or red (another class).

    ``images`` is the data set in standard order, (n, H, W, 3) uint8. ``top10``
    (optional): each method's precision of the top ``k`` over all queries, which leads
    the caption (the counts of the queries shown follow, as an illustration).
    """
    import matplotlib.pyplot as plt

    methods = list(ex.returned)
    n_q, k, n_m = len(ex.query_index), ex.returned[methods[0]].shape[1], len(methods)
    heights = []
    for i in range(n_q):
        heights += [1.0] * n_m + ([0.35] if i < n_q - 1 else [])
    fig = plt.figure(figsize=(0.62 * (k + 1.8), 0.62 * sum(heights)))
    grid = fig.add_gridspec(len(heights), k + 2, height_ratios=heights,
                            width_ratios=[1.2, 0.6] + [1] * k, left=0.01, right=0.99,
                            top=0.97, bottom=0.01, wspace=0.08, hspace=0.08)
    for i in range(n_q):
        top = i * (n_m + 1)
        ax = fig.add_subplot(grid[top:top + n_m, 0])
        ax.imshow(images[ex.query_index[i]], interpolation="bilinear")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"query: {class_names[ex.query_class[i]]}", fontsize=7)
        for s in ax.spines.values():
            s.set_linewidth(2.0)
        for j, m in enumerate(methods):
            for r in range(k):
                ax = fig.add_subplot(grid[top + j, r + 2])
                ax.imshow(images[ex.returned[m][i, r]], interpolation="bilinear")
                ax.set_xticks([])
                ax.set_yticks([])
                colour, style, _ = FRAMES[bool(ex.correct[m][i, r])]
                for s in ax.spines.values():
                    s.set_edgecolor(colour)
                    s.set_linewidth(2.6)
                    s.set_linestyle(style)
                if r == 0:
                    ax.set_ylabel(f"{display_name(m)}\n{int(ex.correct[m][i].sum())}/{k}",
                                  fontsize=7, rotation=0, ha="right", va="center",
                                  labelpad=6)
    counts = {m: int(ex.correct[m].sum()) for m in methods}
    total = n_q * k
    shown = (" and ".join(f"{display_name(m)} returns {counts[m]} of {total} correct images"
                          for m in methods) + f" in its top {k}.")
    take = (f"Over all queries and the whole database, the precision of the top {k} is "
            + ", ".join(f"{display_name(m)} {v:.3f}" for m, v in top10.items())
            + f". As an illustration, on the {n_q} queries shown, {shown}" if top10
            else f"On the {n_q} queries shown, {shown}")
    where = (f"the {ex.n_db:,} database images of protocol `{protocol}` (their codes are "
             f"stored with the run, bit-packed: {ex.n_db * n_bits / 8 / 1024:.0f} KiB per "
             f"method)"
             if ex.database == "database" else
             f"the other {ex.n_db:,} query images (the {n_bits}-bit database codes are "
             f"not stored with these runs, so the examples search the query set, leaving "
             f"the query out)")
    n_classes = len(class_names)
    which = (f"one query of each of the {n_classes} classes" if n_q == n_classes
             else f"{n_q} queries of {n_q} different classes (of {n_classes})")
    cap = (f"{take} **Retrieval examples, {n_bits} bits** ({protocol}, scale `{scale}`, "
           f"seed {seed}): for {which}, each drawn from the query set with a fixed "
           f"seed, the {k} images nearest in Hamming distance among {where}, nearest "
           f"first, ties by index; an image of the query's class has {FRAMES[True][2]}, "
           f"an image of another class {FRAMES[False][2]}; the count of correct images "
           f"is at the left of each row.")
    alt = (f"A grid of small images: for each of {n_q} query images ("
           + ", ".join(class_names[c] for c in ex.query_class)
           + f"), the {k} images returned by "
           + " (upper row) and ".join(display_name(m) for m in methods)
           + f" (lower row), each with {FRAMES[True][2]} if it has the query's class and "
           + f"{FRAMES[False][2]} if not. "
           + take)
    return Drawn(fig, cap, alt)


def precision_at(curves, methods: list[str], *, n_bits: int, n: int = 10,
                 seed: int = 0) -> dict[str, float]:
    """Each method's stored precision of the top ``n`` (from its P@N curve), seed ``seed``
    at ``n_bits``; methods without the point are left out."""
    out = {}
    if curves.empty or "pn_n" not in curves.columns:
        return out
    for m in methods:
        rows = curves[(curves.method == m) & (curves.n_bits == n_bits) & (curves.seed == seed)]
        if rows.empty:
            continue
        ns, ps = np.asarray(rows.iloc[0].pn_n), np.asarray(rows.iloc[0].pn_precision)
        if n in ns:
            out[m] = float(ps[list(ns).index(n)])
    return out


def page_figure(scale: str, protocol: str, methods: list[str], n_bits: int, *, seed: int = 0,
                root: str | Path = "results", artifacts: str | Path | None = None,
                n_queries: int = 10, query_seed: int = 0, k: int = 10) -> Drawn:
    """The retrieval-examples figure of the book, or a caption saying what is missing
    (a run of a method, the protocol's splits, or the CIFAR-10 images).

    ``n_bits`` and ``seed`` are a preference: among the runs whose database codes are
    stored for every method (:func:`runs_with_db_codes`), the page shows the one
    :func:`choose_run` picks, so that the examples search the whole database."""
    from hashlib_core.data.cifar import load_cifar10
    from hashlib_core.results import load_curves, load_manifest, load_results

    stored = load_results(scale, root=root, protocol=protocol, variant=None)
    # a run whose database codes are stored for every method, else one that every method
    # has (the examples then search the query set, and the caption says so)
    with_db = runs_with_db_codes(scale, protocol, methods, root=root)
    every = sorted(set.intersection(*(
        {(int(r.n_bits), int(r.seed)) for r in stored[stored.method == m].itertuples()}
        for m in methods))) if len(stored) and methods else []
    n_bits, seed = choose_run(with_db or every, n_bits=n_bits, seed=seed)
    what = f"**Retrieval examples, {n_bits} bits** ({protocol}, scale `{scale}`)"
    have = [m for m in methods if len(stored) and ((stored.method == m) & (stored.n_bits == n_bits)
                                                   & (stored.seed == seed)).any()]
    if len(have) < len(methods):
        lack = ", ".join(display_name(m) for m in methods if m not in have)
        return Drawn(None, f"{what}: no {n_bits}-bit run of {lack} (seed {seed}) stored yet.")
    try:
        splits = load_manifest(scale, protocol, root=root).get("splits") or {}
    except (FileNotFoundError, ValueError) as err:
        return Drawn(None, f"{what}: the protocol's manifest cannot be read ({err}).")
    if "query" not in splits or "database" not in splits:
        return Drawn(None, f"{what}: the stored manifest of `{protocol}` lists no query and "
                           f"database indices, so the images cannot be found.")
    try:
        data = load_cifar10()
    except FileNotFoundError as err:
        return Drawn(None, f"{what}: the CIFAR-10 images are not on the machine that built "
                           f"this page ({type(err).__name__}); set HASHLIB_DATA to the folder "
                           f"that holds `cifar10-jpeg` or `cifar-10-batches-py` and rebuild.")
    found = retrieval_examples(scale, protocol, methods, n_bits, seed=seed, root=root,
                               artifacts=artifacts, n_queries=n_queries, k=k,
                               query_seed=query_seed, image_labels=data.labels)
    top10 = precision_at(load_curves(scale, root=root, protocol=protocol, n_bits=n_bits),
                         methods, n_bits=n_bits, n=k, seed=seed)
    return examples_figure(found, data.images, class_names=data.info["classes"], scale=scale,
                           protocol=protocol, n_bits=n_bits, seed=seed, top10=top10)
