"""Commands ``learn``, ``predict`` and ``gaps`` (models trained on the labeled content)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from insights.cli._common import CommandError, load_data, out_path


def _read_any(path: str, what: str) -> pd.DataFrame:
    """A CSV or Parquet table read as is (strings stay strings)."""
    p = Path(path)
    if not p.exists():
        raise CommandError(f"{what} {path}: file not found")
    if p.suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if p.suffix not in (".csv", ".gz"):
        raise CommandError(f"{what} {path}: expected a .csv or .parquet file")
    return pd.read_csv(p, dtype=str, keep_default_na=False, na_filter=False)


def _read_items(path: str):
    from insights import data

    p = Path(path)
    if not p.exists():
        raise CommandError(f"--items {path}: file not found")
    return data.read_table(p, "items").drop(columns=["_row"], errors="ignore")


def proba_table(proba: pd.DataFrame) -> pd.DataFrame:
    """``item_id, label, confidence, p_<class>...`` from an item x class frame."""
    p = proba.to_numpy(dtype=float)
    cls = np.asarray(proba.columns, dtype=object)
    out = pd.DataFrame({"item_id": proba.index.to_numpy(dtype=object),
                        "label": cls[p.argmax(axis=1)], "confidence": p.max(axis=1)})
    for k, c in enumerate(cls):
        out[f"p_{c}"] = p[:, k]
    return out


def _accuracy(pred, truth) -> dict:
    """Accuracy in % with its 95 % Wilson interval and n."""
    from insights.stats import wilson_interval

    pred, truth = np.asarray(pred, dtype=object), np.asarray(truth, dtype=object)
    n = int(len(truth))
    x = int((pred == truth).sum())
    lo, hi = wilson_interval(x, n)
    return {"accuracy": round(100 * x / n, 2) if n else None,
            "ci95": [round(100 * float(lo), 2), round(100 * float(hi), 2)] if n else None,
            "n": n}


def _content_args(args, items: pd.DataFrame) -> tuple[str | None, list[str] | None]:
    from insights.learning import resolve_feature_columns

    if args.text_column:
        if args.text_column not in items.columns:
            raise CommandError(f"--text-column {args.text_column}: no such column in --items; "
                               f"columns are {list(items.columns)}")
        return args.text_column, None
    return None, resolve_feature_columns(args.feature_columns, list(items.columns),
                                         source="--items")


def cmd_learn(args: argparse.Namespace) -> int:
    from insights import _io
    from insights.learning import (
        CrowdClassifier,
        ModelCrowdConsensus,
        relabel_ranking_for,
        save_model,
    )

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {args.out}: exists and is not a directory")
    ds = load_data(args.labels, gold=args.gold, label_set=args.label_set)
    items = _read_items(args.items)
    text_col, feat_cols = _content_args(args, items)
    test = _read_any(args.test, "--test") if args.test else None
    if test is not None and "label" not in test.columns:
        raise CommandError(f"--test {args.test}: missing column 'label' (the gold answer)")
    kw = dict(text_column=text_col, feature_columns=feat_cols, n_splits=args.n_splits,
              random_state=args.seed, progress=True)
    labels, classes = ds.labels, ds.label_set
    # gold is kept for evaluation: the crowd targets never see it
    clf = CrowdClassifier(method=args.method, **kw).fit(items, labels, classes=classes)
    oof = clf.oof_proba_
    cons = ModelCrowdConsensus(model_proba=oof).fit(labels, classes=classes)
    enc = ds.encode()
    n_judg = pd.Series(np.bincount(enc.item, minlength=enc.n_items),
                       index=pd.Index(enc.item_ids, name="item_id"))
    unl_ids = np.setdiff1d(items["item_id"].to_numpy(dtype=object),
                           enc.item_ids.astype(object))
    unlabeled = None
    if unl_ids.size:
        unl = items.drop_duplicates("item_id").set_index("item_id").loc[unl_ids].reset_index()
        unlabeled = pd.DataFrame(clf.predict_proba(unl), columns=clf.classes_,
                                 index=pd.Index(unl_ids, name="item_id"))
    relabel = relabel_ranking_for(cons, labels, unlabeled)
    # outputs
    oof_t = proba_table(oof)
    _io.write_table(oof_t, out / "oof.csv")
    cons_t = proba_table(cons.probas_)
    crowd = cons.crowd_.probas_.reindex(cons.probas_.index)
    cons_t["crowd_label"] = cons.crowd_.labels_.reindex(cons.probas_.index).to_numpy()
    cons_t["crowd_confidence"] = crowd.to_numpy().max(axis=1)
    cons_t["n_judgments"] = n_judg.reindex(cons.probas_.index).to_numpy()
    _io.write_table(cons_t, out / "consensus.csv")
    _io.write_table(relabel, out / "relabel.csv")
    save_model(clf, out)
    metrics: dict = {"method": args.method, "n_items": int(len(oof)),
                     "n_judgments": int(enc.n_judgments), "classes": list(map(str, classes)),
                     "content": {"text_column": text_col, "feature_columns": feat_cols},
                     "n_splits": args.n_splits, "model_weight": float(cons.weight_),
                     "n_unlabeled_ranked": int(0 if unlabeled is None else len(unlabeled))}
    if test is not None:
        y = test["label"].astype(str).to_numpy()
        m = _accuracy(clf.predict(test), y)
        metrics.update(test_accuracy=m["accuracy"], test_accuracy_ci95=m["ci95"], test_n=m["n"])
        base = {"majority_vote": "majority", "dawid_skene": "dawid-skene"}
        if ds.gold is not None:
            base["train_gold"] = "gold"
        metrics["baselines"] = {}
        for key, method in base.items():
            b = CrowdClassifier(method=method, **kw).fit(
                items, labels, gold=ds.gold if method == "gold" else None, classes=classes)
            bm = _accuracy(b.predict(test), y)
            metrics["baselines"][key] = {"method": method, "test_accuracy": bm["accuracy"],
                                         "test_accuracy_ci95": bm["ci95"]}
    if ds.gold is not None:
        g = ds.gold.drop_duplicates("item_id").set_index("item_id")["label"].astype(str)
        ids = cons.probas_.index.intersection(g.index)
        few = ids[n_judg.reindex(ids).to_numpy() <= 2]
        metrics["gold_items"] = int(len(ids))
        metrics["consensus_vs_gold"] = {
            "with_model": _accuracy(cons.labels_.reindex(ids), g.reindex(ids)),
            "without_model": _accuracy(cons.crowd_.labels_.reindex(ids), g.reindex(ids)),
            "with_model_le2_judgments": _accuracy(cons.labels_.reindex(few), g.reindex(few)),
            "without_model_le2_judgments": _accuracy(cons.crowd_.labels_.reindex(few),
                                                     g.reindex(few)),
            "oof_model": _accuracy(oof.idxmax(axis=1).reindex(ids), g.reindex(ids)),
        }
    _io.write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    print(f"{args.method}: {len(oof):,} labeled items, model weight {cons.weight_:g}; "
          f"oof.csv, consensus.csv, relabel.csv, model.skops, metrics.json -> {out}")
    if test is not None:
        print(f"test accuracy {metrics['test_accuracy']} % (majority-vote-trained "
              f"{metrics['baselines']['majority_vote']['test_accuracy']} %, Dawid-Skene-trained "
              f"{metrics['baselines']['dawid_skene']['test_accuracy']} %)")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from insights import _io
    from insights.learning import load_model

    out = out_path(args.out)
    model = load_model(args.model_dir)
    items = _read_any(args.items, "ITEMS")
    if "item_id" not in items.columns:
        raise CommandError(f"ITEMS {args.items}: missing required column 'item_id'")
    proba = pd.DataFrame(model.predict_proba(items), columns=model.classes_,
                         index=pd.Index(items["item_id"].astype(str), name="item_id"))
    _io.write_table(proba_table(proba), out)
    print(f"{len(proba):,} items -> {out}")
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    from insights.learning import gap_pack

    ds = load_data(args.labels, gold=args.gold, annotators=args.annotators,
                   label_set=args.label_set)
    items = _read_items(args.items) if args.items else ds.items
    pack = gap_pack(ds, args.annotator, items=items, min_confidence=args.min_confidence,
                    fdr=args.fdr)
    pack.write(args.out)
    s = pack.summary
    print(f"{args.annotator}: {s['model_judgments_on_confident_items']:,} judgments on "
          f"confident consensus items, {s['n_gaps']} gap(s) at q <= {args.fdr} -> {args.out}")
    for g in s["gaps"]:
        print(f"  - {g['text']}")
    return 0


#: ``insights.learning.METHODS`` and ``DEFAULT_METHOD``, written out so that building the
#: parser does not import scikit-learn (2.5 s on every command); a test checks they agree.
METHODS = ("raykar", "soft", "dawid-skene", "majority", "gold")
DEFAULT_METHOD = "raykar"


def register(sub) -> None:
    """Add ``learn``, ``predict`` and ``gaps``."""

    s = sub.add_parser("learn", help="train a content model on crowd labels; consensus with "
                                     "the model; what to relabel next")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--items", required=True, help="items .csv/.parquet with the content")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--text-column", help="text column of ITEMS (TF-IDF + logistic regression)")
    g.add_argument("--feature-columns", metavar="SPEC",
                   help="numeric columns of ITEMS: a comma list or a glob such as 'f*'")
    s.add_argument("--gold", help="gold file (for evaluation only: never a training target, "
                                  "except for the train-gold baseline)")
    s.add_argument("--test", help="held-out .csv/.parquet with the content columns and 'label'")
    s.add_argument("--method", choices=list(METHODS), default=DEFAULT_METHOD,
                   help=f"training targets (default: {DEFAULT_METHOD})")
    s.add_argument("--n-splits", type=int, default=5, help="cross-fitting folds (default 5)")
    s.add_argument("--seed", type=int, default=0, help="seed of the fold assignment")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--out", required=True, help="output directory")
    s.set_defaults(func=cmd_learn)

    s = sub.add_parser("predict", help="score items with a model saved by 'insights learn'")
    s.add_argument("model_dir", metavar="DIR", help="the --out directory of 'insights learn'")
    s.add_argument("items", metavar="ITEMS", help="items .csv/.parquet with the content")
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("gaps", help="LLM decision-gap pack: where a model annotator departs "
                                    "from confident human consensus")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--annotator", required=True, help="the model annotator's id")
    s.add_argument("--items", help="items file with the content shown in the examples")
    s.add_argument("--gold", help="gold file (shown beside the examples)")
    s.add_argument("--annotators", help="annotators file (kind == model is left out of the "
                                        "human consensus)")
    s.add_argument("--min-confidence", type=float, default=0.9,
                   help="consensus posterior needed (default 0.9)")
    s.add_argument("--fdr", type=float, default=0.05, help="false discovery rate (default 0.05)")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--out", required=True, help="output directory")
    s.set_defaults(func=cmd_gaps)
