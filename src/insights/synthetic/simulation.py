"""Results of a simulation: :class:`Truth` and :class:`Simulation` (tables, dataset, writers).

Part of :mod:`insights.synthetic`; import the names from there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insights import _io
from insights import data as _data
from insights.synthetic.scenarios import Scenario

__all__ = ["Truth", "Simulation"]


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class Truth:
    """What the simulator knows and the data does not say.

    Attributes
    ----------
    true_labels : pandas.Series
        item_id -> true class.
    confusions : dict of str -> numpy.ndarray
        annotator_id -> K x K row-stochastic matrix (rows: true class, columns: given label,
        both in ``label_set`` order). For an annotator whose confusion changes over time it is
        the effective matrix over the whole period (each row the mix of before and after
        weighted by that annotator's judgments of that true class) — what a static
        Dawid-Skene model estimates; see ``confusions_before`` / ``confusions_after``.
    confusions_before, confusions_after : dict of str -> numpy.ndarray
        For annotators whose confusion changes (the accuracy-drop team): the matrix before and
        from the planted date.
    annotator_types : pandas.Series
        annotator_id -> one of ``good``, ``mediocre``, ``biased``, ``new_hire``,
        ``spammer_uniform``, ``spammer_constant``, ``model``.
    true_accuracy : pandas.Series
        annotator_id -> expected accuracy ``sum_k pi_k C[k, k]`` under the class mix ``pi`` of
        the annotator's market (all markets for the model), using ``confusions``.
    planted : list of dict
        One dict per planted effect, with ``effect`` (``accuracy_drop``, ``knowledge_gap``,
        ``mix_shift``), ``market``, ``team`` (where relevant), ``week`` (0-based),
        ``week_start`` (ISO date), the classes and the magnitudes, plus the expected rates
        before and after.
    label_set : list of str
    class_mix : pandas.DataFrame
        The generating class probabilities: ``market``, ``queue``, ``week``, ``week_start``
        and one column per class.
    volume : pandas.DataFrame
        ``market``, ``queue``, ``week``, ``week_start``, ``expected`` (noise-free mean),
        ``mean`` (the Poisson mean after noise) and ``n_items``.
    item_difficulty : pandas.Series
        item_id -> standard-normal difficulty (drives handle time).
    """

    true_labels: pd.Series
    confusions: dict[str, np.ndarray]
    confusions_before: dict[str, np.ndarray]
    confusions_after: dict[str, np.ndarray]
    annotator_types: pd.Series
    true_accuracy: pd.Series
    planted: list[dict[str, Any]]
    label_set: list[str]
    class_mix: pd.DataFrame
    volume: pd.DataFrame
    item_difficulty: pd.Series


@dataclass
class Simulation:
    """A simulated operation: the data contract's four tables and the truth behind them.

    Attributes
    ----------
    labels, gold, annotators, items : pandas.DataFrame
        Exactly the columns of DESIGN.md's data contract (``items`` adds ``text``).
    truth : Truth
    scenario : Scenario
    seed : int
    """

    labels: pd.DataFrame
    gold: pd.DataFrame
    annotators: pd.DataFrame
    items: pd.DataFrame
    truth: Truth
    scenario: Scenario
    seed: int
    _dataset: _data.Dataset | None = field(default=None, repr=False, compare=False)

    def dataset(self) -> _data.Dataset:
        """The tables validated by :func:`insights.data.validate`, as a Dataset.

        The fingerprint is :func:`insights.data.fingerprint_frames` of the four tables.
        """
        if self._dataset is None:
            label_set = list(self.truth.label_set)
            tables = {
                kind: _data.validate(getattr(self, kind), kind, source=f"simulated {kind}",
                                     label_set=label_set if kind in ("labels", "gold") else None,
                                     label_set_origin=f"scenario {self.scenario.name!r}")
                if len(getattr(self, kind)) else None  # e.g. gold_share=0: no gold table
                for kind in _data.TABLES
            }
            src = f"insights.synthetic.simulate(scenario={self.scenario.name!r}, seed={self.seed})"
            self._dataset = _data.Dataset(
                **tables,
                label_set=label_set,
                fingerprint=_data.fingerprint_frames(
                    labels=self.labels, gold=self.gold, annotators=self.annotators,
                    items=self.items),
                sources=dict.fromkeys(_data.TABLES, src),
            )
        return self._dataset

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the tables and the truth to ``out_dir`` (each file atomically).

        Files: ``labels.csv``, ``gold.csv``, ``annotators.csv``, ``items.csv`` (the data
        contract, loadable with ``insights.data.load(out_dir)``; ``gold.csv`` is left out when
        ``gold_share=0`` leaves no gold) and the truth:
        ``truth_labels.csv`` (item_id, label), ``truth_annotators.csv`` (annotator_id, type,
        true_accuracy), ``confusions.csv`` (annotator_id, true, given, p; the effective
        matrices), ``confusion_changes.csv`` (annotator_id, period [before/after], true, given,
        p), ``class_mix.csv``, ``volume.csv`` and ``planted.json`` (scenario, seed, label set
        and the list of planted effects).

        Returns
        -------
        dict
            File stem -> path written.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        t = self.truth
        written: dict[str, Path] = {}
        for name in _data.TABLES:
            df = getattr(self, name)
            if len(df):  # an empty table is not written (the loader rejects empty files)
                written[name] = _io.write_table(_csv_ready(df), out / f"{name}.csv")
        written["truth_labels"] = _io.write_table(
            t.true_labels.rename("label").rename_axis("item_id").reset_index(),
            out / "truth_labels.csv")
        written["truth_annotators"] = _io.write_table(
            pd.DataFrame({"annotator_id": t.annotator_types.index,
                          "type": t.annotator_types.to_numpy(),
                          "true_accuracy": t.true_accuracy.reindex(t.annotator_types.index)
                          .round(6).to_numpy()}),
            out / "truth_annotators.csv")
        written["confusions"] = _io.write_table(
            _long_confusions(t.confusions, t.label_set), out / "confusions.csv")
        changes = [
            _long_confusions(d, t.label_set).assign(period=period)
            for period, d in (("before", t.confusions_before), ("after", t.confusions_after))
        ]
        ch = pd.concat(changes, ignore_index=True)[["annotator_id", "period", "true", "given", "p"]]
        written["confusion_changes"] = _io.write_table(ch, out / "confusion_changes.csv")
        written["class_mix"] = _io.write_table(_csv_ready(t.class_mix), out / "class_mix.csv")
        written["volume"] = _io.write_table(_csv_ready(t.volume), out / "volume.csv")
        meta = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "label_set": list(t.label_set),
            "planted": t.planted,
        }
        written["planted"] = _io.write_text(out / "planted.json",
                                            json.dumps(meta, indent=2, default=str) + "\n")
        return written


def _csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """ISO 8601 UTC timestamps (``2026-01-05T14:03:22Z``) for CSV output."""
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return df


def _long_confusions(conf: Mapping[str, np.ndarray], label_set) -> pd.DataFrame:
    ids = list(conf)
    k = len(label_set)
    if not ids:
        return pd.DataFrame({"annotator_id": [], "true": [], "given": [], "p": []})
    arr = np.stack([conf[a] for a in ids])
    labs = np.asarray(label_set, dtype=object)
    return pd.DataFrame({
        "annotator_id": np.repeat(np.asarray(ids, dtype=object), k * k),
        "true": np.tile(np.repeat(labs, k), len(ids)),
        "given": np.tile(np.tile(labs, k), len(ids)),
        "p": np.round(arr.reshape(-1), 6),
    })
