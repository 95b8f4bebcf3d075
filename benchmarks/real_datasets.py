"""Accuracy against gold of every aggregator on every shared real dataset, beside the peers.

Usage (in the bench environment, which has crowd-kit; the peers' columns are left out, with a
note, where crowd-kit or ``../shared/peers/ebcc`` is missing)::

    python benchmarks/real_datasets.py              # accuracy table (percent)
    python benchmarks/real_datasets.py --gold 0.1   # ... with 10 % of gold given to ours
    python benchmarks/real_datasets.py --scale 1e7  # fit time and peak memory of DawidSkene

Columns: ours (``MV`` ... ``auto``, the default :class:`~insights.reliability.AutoAggregator`),
crowd-kit's classes (``ck:``) and the authors' EBCC code (``ref:EBCC``, their protocol: 40
seeds, the fit with the highest ELBO kept, exact duplicate rows dropped). With ``--gold F``
our models get a random share ``F`` of the gold items (seed 0; the peers take no gold) and
every column is scored on the other gold items only. The last rows: each column's mean, and
its mean and worst shortfall to the best of the *peers* per dataset (``peer best``), and the
default's gap to majority vote.

Leave-one-dataset-out: the one setting of the default chosen with these tables -- the tie
``n_se`` (the one-standard-error rule) of :class:`~insights.reliability.AutoAggregator` -- is checked with
``--lodo``: for each dataset ``n_se`` is chosen (from a small grid) on the *other* datasets
by mean accuracy and scored on the left-out one.

Protocol (the same as ``../shared/datasets/ds_check.csv``): accuracy over the gold items that
have at least one judgment; an item whose top posterior is shared by ``m`` classes counts
``1/m`` if gold is among them (the expected accuracy under a uniformly random tie-break, as
published tables report). Repeated (item, annotator) rows are kept as the sources have them.
The last rows give each method's mean accuracy and its mean and worst shortfall to the best
method per dataset; ``RECOMMENDED`` in ``insights.reliability`` is chosen from them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data import Encoded
from insights.reliability import (
    EBCC,
    GLAD,
    MACE,
    AutoAggregator,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
)

ROOT = Path(__file__).resolve().parents[1].parent
DATASETS = Path(os.environ.get("INSIGHTS_DATASETS", ROOT / "shared" / "datasets"))
PEERS = Path(os.environ.get("INSIGHTS_PEERS", ROOT / "shared" / "peers"))
N_SE = (0.0, 1.0, 2.0, 3.0)


def candidates() -> dict[str, object]:
    """The estimators compared (name -> unfitted estimator)."""
    return {
        "MV": MajorityVote(),
        "Wawa": Wawa(),
        "DS plain": DawidSkene(alpha=0.0, shrinkage=0.0, prior_counts=0.0),
        "DS": DawidSkene(),
        "OneCoin": OneCoinDawidSkene(),
        "OneCoin+prior": OneCoinDawidSkene(fit_priors=True),
        "GLAD": GLAD(),
        "MACE": MACE(),
        "EBCC": EBCC(),
        "auto": AutoAggregator(),
    }


def peer_predictions(labels: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """item x class scores of crowd-kit's methods and the authors' EBCC (what is installed)."""
    out: dict[str, pd.DataFrame] = {}
    try:
        from crowdkit import aggregation as ck
    except ImportError:
        ck = None
    classes = sorted(labels["label"].unique())
    if ck is not None:
        df = labels.rename(columns={"item_id": "task", "annotator_id": "worker"})
        methods = {"MV": ck.MajorityVote(), "Wawa": ck.Wawa(), "DS": ck.DawidSkene(n_iter=100),
                   "OneCoinDS": ck.OneCoinDawidSkene(n_iter=100), "GLAD": ck.GLAD(),
                   "MACE": ck.MACE(random_state=0), "ZBS": ck.ZeroBasedSkill(),
                   "MMSR": ck.MMSR()}
        if len(classes) == 2:
            methods["KOS"] = ck.KOS(random_state=0)
        for name, m in methods.items():
            try:
                if hasattr(m, "fit_predict_proba"):
                    p = m.fit_predict_proba(df)
                else:
                    lab = m.fit_predict(df)
                    p = pd.get_dummies(lab).astype(float)
            except Exception as exc:  # a peer failing is reported, not fatal
                print(f"  crowd-kit {name} failed: {exc!r}", file=sys.stderr)
                continue
            p = p.reindex(columns=classes, fill_value=0.0)
            p.index = p.index.astype(str)
            out[f"ck:{name}"] = p
    ref = PEERS / "ebcc" / "ebcc.py"
    if ref.exists():
        import importlib.util

        spec = importlib.util.spec_from_file_location("ebcc_ref", ref)
        mod = importlib.util.module_from_spec(spec)
        if not hasattr(np, "bool"):  # the 2019 code uses np.bool (removed in NumPy 1.24)
            np.bool = bool  # type: ignore[attr-defined]
        spec.loader.exec_module(mod)
        items, i_codes = np.unique(labels["item_id"], return_inverse=True)
        _, a_codes = np.unique(labels["annotator_id"], return_inverse=True)
        l_codes = pd.Index(classes).get_indexer(labels["label"])
        tuples = np.unique(np.column_stack([i_codes, a_codes, l_codes]), axis=0)
        best = None
        for seed in range(40):
            z, elbo = mod.ebcc_vb(tuples, num_groups=10, empirical_prior=True, seed=seed)
            if best is None or elbo > best[1]:
                best = (z, elbo)
        out["ref:EBCC"] = pd.DataFrame(best[0], index=items.astype(str), columns=classes)
    return out


def expected_accuracy(probas: pd.DataFrame, gold: pd.DataFrame) -> float:
    """Accuracy over covered gold items, ties counted as 1/m (see the module docstring)."""
    g = gold.drop_duplicates("item_id").set_index("item_id")["label"].astype(str)
    common = probas.index.intersection(g.index)
    p = probas.loc[common].to_numpy()
    is_max = p >= p.max(axis=1, keepdims=True) - 1e-12
    col = pd.Index(probas.columns).get_indexer(g.loc[common].to_numpy())
    hit = np.where(col >= 0, is_max[np.arange(len(common)), np.maximum(col, 0)], False)
    return float((hit / is_max.sum(axis=1)).mean())


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    folder = DATASETS / name
    ren = {"item": "item_id", "annotator": "annotator_id"}
    labels = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False).rename(
        columns=ren)
    gold = None
    if (folder / "gold.csv").exists():
        gold = pd.read_csv(folder / "gold.csv", dtype=str, keep_default_na=False).rename(
            columns=ren)
    return labels, gold


def accuracy_table(gold_share: float = 0.0, peers: bool = True,
                   names: list[str] | None = None) -> pd.DataFrame:
    """One row per dataset, one column per method (accuracy in percent)."""
    names = names or sorted(p.name for p in DATASETS.iterdir() if (p / "gold.csv").exists())
    rows = {}
    for name in names:
        labels, gold = load(name)
        given = None
        if gold_share > 0:
            given = gold.sample(frac=gold_share, random_state=0)
            gold = gold[~gold["item_id"].isin(given["item_id"])]
        row = {}
        for method, est in candidates().items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(labels, given)
            row[method] = 100 * expected_accuracy(est.probas_, gold)
            if method == "auto":
                row["auto chose"] = est.chosen_
        if peers:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for method, p in peer_predictions(labels).items():
                    row[method] = 100 * expected_accuracy(p, gold)
        rows[name] = row
        print(f"  {name}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in row.items()), file=sys.stderr, flush=True)
    return pd.DataFrame(rows).T


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, and mean / worst shortfall to the best peer (or, without peers, the best of
    ours) per dataset; ``auto - MV`` the default's gap to majority vote."""
    chose = table.pop("auto chose") if "auto chose" in table else None
    table = table.astype(float)
    peer_cols = [c for c in table.columns if c.startswith(("ck:", "ref:"))]
    best = table[peer_cols or list(table.columns)].max(axis=1)
    table["peer best" if peer_cols else "best"] = best
    short = table.sub(best, axis=0)
    table["auto - MV"] = table["auto"] - table["MV"]
    out = table.copy()
    out.loc["mean"] = table.mean()
    out.loc["mean shortfall"] = short.mean()
    out.loc["worst shortfall"] = short.min()
    if chose is not None:
        out["auto chose"] = chose
    return out


def leave_one_dataset_out(names: list[str] | None = None) -> pd.DataFrame:
    """The default's n_se chosen on the other datasets, scored on the left-out one."""
    names = names or sorted(p.name for p in DATASETS.iterdir() if (p / "gold.csv").exists())
    acc = {}
    for name in names:
        labels, gold = load(name)
        for m in N_SE:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = AutoAggregator(n_se=m).fit(labels)
            acc[(name, m)] = 100 * expected_accuracy(est.probas_, gold)
    acc = pd.Series(acc).unstack()
    rows = []
    for name in names:
        others = acc.drop(index=name).mean()
        m = float(others.idxmax())
        rows.append({"dataset": name, "n_se chosen on the others": m,
                     "accuracy": acc.loc[name, m], "with the default n_se":
                     acc.loc[name, AutoAggregator().n_se]})
    return pd.DataFrame(rows).set_index("dataset")


def synthetic_encoded(n_judgments: int, n_classes: int = 5, per_item: int = 10,
                      seed: int = 0) -> tuple[Encoded, np.ndarray]:
    """A quick Dawid-Skene simulation as integer codes (no string ids to factorise)."""
    rng = np.random.default_rng(seed)
    K = n_classes
    n_items = n_judgments // per_item
    n_ann = max(50, n_items // 1000)
    truth = rng.choice(K, size=n_items, p=np.linspace(1, 2, K) / np.linspace(1, 2, K).sum())
    diag = rng.uniform(0.55, 0.95, size=n_ann)
    conf = np.empty((n_ann, K, K))
    conf[:] = ((1 - diag) / (K - 1))[:, None, None]
    conf[:, np.arange(K), np.arange(K)] = diag[:, None]
    item = np.repeat(np.arange(n_items, dtype=np.int32), per_item)
    ann = rng.integers(0, n_ann, size=item.size, dtype=np.int32)
    cdf = np.cumsum(conf[ann, truth[item]], axis=1)
    label = (rng.random(item.size)[:, None] > cdf).sum(axis=1).astype(np.int32)
    label = np.minimum(label, K - 1)
    enc = Encoded(
        item_ids=np.arange(n_items).astype(str).astype(object),
        annotator_ids=np.arange(n_ann).astype(str).astype(object),
        classes=np.arange(K).astype(str).astype(object),
        item=item, annotator=ann, label=label, gold=np.full(n_items, -1, dtype=np.int64))
    return enc, truth


def scale_check(n: int) -> None:
    enc, truth = synthetic_encoded(n)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    model = DawidSkene().fit(enc)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"DawidSkene, {n:,} judgments, K={enc.n_classes}, {enc.n_items:,} items, "
          f"{enc.n_annotators:,} annotators: fit {dt:.1f} s in {model.n_iter_} iterations "
          f"(converged={model.converged_}); peak RSS {peak:,.0f} MB "
          f"(before fit {rss0:,.0f} MB, includes the simulated data); accuracy vs truth "
          f"{(model.probas_.to_numpy().argmax(axis=1) == truth).mean():.4f}")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DawidSkene(max_iter=50, tol=0.0).fit(enc)
    dt = time.perf_counter() - t0
    print(f"  worst case, 50 EM iterations forced (tol=0): {dt:.1f} s "
          f"({dt / model.n_iter_ * 1000:.0f} ms per iteration)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=None,
                    help="instead of the table, time DawidSkene on N simulated judgments")
    ap.add_argument("--gold", type=float, default=0.0,
                    help="share of gold items given to our models (scored on the rest)")
    ap.add_argument("--no-peers", action="store_true", help="our columns only")
    ap.add_argument("--lodo", action="store_true",
                    help="leave-one-dataset-out check of the default's n_se")
    ap.add_argument("--datasets", help="comma-separated names (default: all with gold)")
    ap.add_argument("--out", help="also write the table as CSV")
    args = ap.parse_args(argv)
    if args.scale:
        scale_check(int(args.scale))
        return 0
    if not DATASETS.is_dir():
        print(f"no shared datasets at {DATASETS}", file=sys.stderr)
        return 1
    names = args.datasets.split(",") if args.datasets else None
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    if args.lodo:
        print(leave_one_dataset_out(names).round(2).to_string())
        return 0
    table = summarise(accuracy_table(args.gold, peers=not args.no_peers, names=names))
    if args.out:
        table.to_csv(args.out)
    print(table.round(2).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
