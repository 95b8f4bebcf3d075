"""The simulator: :func:`simulate` and the :class:`_Builder` that draws one operation.

Part of :mod:`insights.synthetic`; import :func:`simulate` from there.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from insights.synthetic.sampling import (
    _confusion,
    _cyc,
    _expected_accuracy,
    _sample_rows,
    _shared_error_profile,
)
from insights.synthetic.scenarios import SCENARIOS, Scenario, _validate_scenario
from insights.synthetic.simulation import Simulation, Truth

__all__ = ["simulate"]


# --------------------------------------------------------------------------------------------
# the simulator
# --------------------------------------------------------------------------------------------
_WORDS = {
    "ok": ["recipe", "holiday", "football", "garden", "music", "birthday", "coffee", "weather",
           "movie", "puppy", "school", "hiking"],
    "spam": ["free", "click", "winner", "crypto", "discount", "followers", "limited", "offer",
             "earn", "link", "promo", "giveaway"],
    "hate": ["vermin", "those people", "go back", "inferior", "slur", "subhuman", "invaders",
             "not welcome", "filth", "scum", "purge", "ban them"],
    "violence": ["fight", "beat", "weapon", "attack", "blood", "shoot", "stab", "threat",
                 "burn", "hurt", "kill", "riot"],
    "adult": ["nsfw", "explicit", "nude", "18+", "onlyfans", "hot pics", "xxx", "lingerie",
              "cam", "strip", "escort", "spicy"],
}
_NEUTRAL = ["today", "people", "new", "look", "this", "video", "post", "friends", "city",
            "again", "really", "photo", "week", "best", "everyone", "thread"]


def simulate(scenario: str | Scenario = "default", seed: int = 0, **overrides) -> Simulation:
    """Simulate a content-labeling operation with known truth.

    Parameters
    ----------
    scenario : str or Scenario, default "default"
        A name in :data:`SCENARIOS` (``default``, ``small``, ``null``, ``sparse``) or a
        :class:`Scenario`.
    seed : int, default 0
        Seed of the single ``numpy.random.default_rng`` used for every draw.
    **overrides
        Scenario fields to replace, e.g. ``weeks=8`` or ``accuracy_drops=()``.

    Returns
    -------
    Simulation
        ``labels``, ``gold``, ``annotators``, ``items`` and ``truth``.
    """
    if isinstance(scenario, str):
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; expected one of {list(SCENARIOS)}")
        sc = SCENARIOS[scenario]
    else:
        sc = scenario
    if overrides:
        sc = dataclasses.replace(sc, **overrides)
    _validate_scenario(sc)
    rng = np.random.default_rng(seed)
    sim = _Builder(sc, rng, seed).run()
    if sc.operations:
        from insights.operations.simulate import add_operations

        sim = add_operations(sim)
    return sim


class _Builder:
    """Draws one operation; kept as a class only to share arrays between the steps."""

    def __init__(self, sc: Scenario, rng: np.random.Generator, seed: int):
        self.sc = sc
        self.rng = rng
        self.seed = seed
        self.k = len(sc.label_set)
        self.lab_index = {lab: i for i, lab in enumerate(sc.label_set)}
        self.start_s = int(sc.start_ts.timestamp())

    # ---------------------------------------------------------------------------------------
    def run(self) -> Simulation:
        self._mixes_and_volumes()
        self._items()
        self._annotators()
        self._judgments()
        return self._assemble()

    # ---------------------------------------------------------------------------------------
    def _mixes_and_volumes(self) -> None:
        sc, rng, k = self.sc, self.rng, self.k
        n_m, n_q, n_w = len(sc.markets), len(sc.queues), sc.weeks
        base_mix = np.array([np.asarray(q[2], float) / sum(q[2]) for q in sc.queues])  # Q x K
        mix = np.empty((n_m, n_q, n_w, k))
        for m in range(n_m):
            for q in range(n_q):
                if sc.mix_concentration is None:
                    p = base_mix[q]
                else:
                    p = rng.dirichlet(sc.mix_concentration * base_mix[q] + 1e-3)
                mix[m, q, :, :] = p
        self.planted: list[dict[str, Any]] = []
        self._shift_records = []
        for eff in sc.mix_shifts:
            m = sc.markets.index(eff.market)
            c = self.lab_index[eff.label]
            before = mix[m, :, eff.week].copy()
            after = before.copy()
            new_c = np.minimum(before[:, c] * eff.factor, 0.95)
            rest = 1.0 - before[:, c]
            scale = np.where(rest > 0, (1.0 - new_c) / np.where(rest > 0, rest, 1.0), 0.0)
            after *= scale[:, None]
            after[:, c] = new_c
            mix[m, :, eff.week:, :] = after[:, None, :]
            self._shift_records.append((eff, m, c, before, after))
        self.mix = mix
        # weekly volumes
        w = np.arange(n_w)
        expected = np.empty((n_m, n_q, n_w))
        mean = np.empty((n_m, n_q, n_w))
        for m in range(n_m):
            for q in range(n_q):
                g = sc.trend + (rng.normal(0.0, sc.trend_sd) if sc.trend_sd > 0 else 0.0)
                phase = rng.uniform(0, 2 * np.pi)
                e = (sc.queues[q][1] * _cyc(sc.market_scale, m) * (1 + g) ** w
                     * (1 + sc.seasonality * np.sin(2 * np.pi * w / sc.season_period + phase)))
                expected[m, q] = e
                noise = rng.normal(0.0, sc.volume_noise, n_w) if sc.volume_noise > 0 else 0.0
                mean[m, q] = e * np.exp(noise)
        self.expected_volume = expected
        self.mean_volume = mean
        self.n_items_mqw = rng.poisson(mean)

    # ---------------------------------------------------------------------------------------
    def _items(self) -> None:
        sc, rng = self.sc, self.rng
        counts = self.n_items_mqw
        n_m, n_q, n_w = counts.shape
        flat = counts.reshape(-1)
        cell = np.repeat(np.arange(flat.size), flat)
        m_idx, q_idx, w_idx = np.unravel_index(cell, counts.shape)
        n = cell.size
        # arrival time within the week: weekdays busier than weekends, daytime busier
        day_w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.6])
        day = rng.choice(7, size=n, p=day_w / day_w.sum())
        hour = np.clip(rng.normal(14.0, 4.0, n), 0.0, 23.98)
        secs = (w_idx * 7 + day) * 86400 + (hour * 3600).astype(np.int64)
        secs = secs + rng.integers(0, 60, n)  # stays inside the day: 23.98 h + 59 s < 24 h
        # order items by market then creation time so ids read chronologically
        order = np.lexsort((secs, m_idx))
        m_idx, q_idx, w_idx, secs = m_idx[order], q_idx[order], w_idx[order], secs[order]
        true = _sample_rows(rng, self.mix[m_idx, q_idx, w_idx])
        difficulty = rng.standard_normal(n)
        seq = np.zeros(n, dtype=np.int64)
        for m in range(n_m):
            sel = m_idx == m
            seq[sel] = np.arange(sel.sum())
        markets = np.asarray(sc.markets, dtype=object)
        self.item_ids = np.array([f"{mk}-item-{s:06d}" for mk, s in zip(markets[m_idx], seq, strict=True)],
                                 dtype=object)
        self.item_m, self.item_q, self.item_w = m_idx, q_idx, w_idx
        self.item_secs = secs.astype(np.int64)
        self.item_true = true
        self.item_difficulty = difficulty
        self.item_text = self._texts(true, q_idx)

    def _texts(self, true: np.ndarray, q_idx: np.ndarray) -> np.ndarray:
        """Short deterministic strings; about half the words hint at the true class."""
        rng, sc = self.rng, self.sc
        n = true.size
        n_words = 5
        banks = [_WORDS.get(lab, [f"{lab}-{j}" for j in range(12)]) for lab in sc.label_set]
        cls_word = rng.integers(0, 12, (n, n_words))
        neutral = rng.integers(0, len(_NEUTRAL), (n, n_words))
        hint = rng.random((n, n_words)) < sc.text_signal
        post_no = rng.integers(100, 100000, n)
        queues = [q[0] for q in sc.queues]
        out = np.empty(n, dtype=object)
        for i in range(n):
            bank = banks[true[i]]
            words = [bank[cls_word[i, j]] if hint[i, j] else _NEUTRAL[neutral[i, j]]
                     for j in range(n_words)]
            out[i] = f"{queues[q_idx[i]]} #{post_no[i]}: " + " ".join(words)
        return out

    # ---------------------------------------------------------------------------------------
    def _annotators(self) -> None:
        sc, rng, k = self.sc, self.rng, self.k
        profile0 = _shared_error_profile(k)
        cls_diff = np.array([dict(sc.class_difficulty).get(lab, 0.0) for lab in sc.label_set])
        type_off = dict(sc.type_accuracy_offset)
        rows: list[dict[str, Any]] = []
        confs: list[np.ndarray] = []
        for m, market in enumerate(sc.markets):
            spam_team = (rng.integers(0, sc.teams_per_market, sc.spammers_per_market)
                         if sc.spammers_per_market else np.array([], int))
            for t in range(sc.teams_per_market):
                team = f"{market}-T{t + 1}"
                acc_t = _cyc(sc.team_accuracy, t)
                if sc.team_accuracy_sd > 0:
                    acc_t += rng.normal(0.0, sc.team_accuracy_sd)
                cost = round(_cyc(sc.team_cost, t) * _cyc(sc.market_cost, m), 4)
                types = [ty for ty, cnt in sc.annotator_mix for _ in range(cnt)]
                n_spam_here = int((spam_team == t).sum())
                spam_kinds = [("spammer_uniform" if j % 2 == 0 else "spammer_constant")
                              for j in range(int((spam_team < t).sum()),
                                             int((spam_team <= t).sum()))]
                types += spam_kinds
                assert len(spam_kinds) == n_spam_here
                for j, ty in enumerate(types):
                    aid = f"{team}-a{j + 1:02d}"
                    if ty.startswith("spammer"):
                        if ty == "spammer_uniform":
                            conf = np.full((k, k), 1.0 / k)
                        else:
                            conf = np.zeros((k, k))
                            conf[:, rng.integers(0, k)] = 1.0
                    else:
                        a = acc_t + type_off.get(ty, 0.0)
                        if sc.accuracy_sd > 0:
                            a += rng.normal(0.0, sc.accuracy_sd)
                        diag = np.clip(a + cls_diff, 1.5 / k, 0.995)
                        if sc.error_concentration is None:
                            prof = profile0
                        else:
                            prof = np.zeros((k, k))
                            for r in range(k):
                                alpha = sc.error_concentration * profile0[r] + 0.05
                                alpha[r] = 0.0
                                nz = alpha > 0
                                prof[r, nz] = rng.dirichlet(alpha[nz])
                        conf = _confusion(diag, prof)
                        if ty == "biased":
                            c = rng.integers(0, k)
                            d = (c + rng.integers(1, k)) % k
                            b = rng.uniform(*sc.bias_rate)
                            conf[c] = (1 - b) * conf[c]
                            conf[c, d] += b
                    speed = sc.median_handle_seconds * np.exp(rng.normal(0.0, 0.25))
                    if ty.startswith("spammer"):
                        speed *= 0.25
                    elif ty == "new_hire":
                        speed *= 1.5
                    weight = np.exp(rng.normal(0.0, sc.workload_sd)) if sc.workload_sd > 0 else 1.0
                    hire_week = 0
                    if ty == "new_hire":
                        weight *= sc.new_hire_weight
                        lo = max(sc.weeks - sc.new_hire_weeks, 0)
                        hire_week = int(rng.integers(lo, sc.weeks))
                    rows.append(dict(annotator_id=aid, team=team, market=market, kind="human",
                                     cost_per_label=cost,
                                     capacity_per_day=float(round(7 * 3600 / speed)),
                                     _type=ty, _m=m, _speed=speed, _weight=weight,
                                     _hire_week=hire_week))
                    confs.append(conf)
        if sc.model_annotator:
            conf = np.full((k, k), 0.0)
            for r in range(k):
                conf[r] = (1 - sc.model_accuracy) / (k - 1)
                conf[r, r] = sc.model_accuracy
            for true, given, rate in sc.model_blind_spots:
                c, d = self.lab_index[true], self.lab_index[given]
                row = conf[c].copy()
                row[d] = 0.0
                row *= (1 - rate) / row.sum()
                row[d] = rate
                conf[c] = row
            rows.append(dict(annotator_id="llm-judge", team="llm", market="ALL", kind="model",
                             cost_per_label=sc.model_cost, capacity_per_day=1_000_000.0,
                             _type="model", _m=-1, _speed=1.2, _weight=0.0, _hire_week=0))
            confs.append(conf)
        self.ann = pd.DataFrame(rows)
        self.conf = np.stack(confs)  # A x K x K (before any change)
        # planted knowledge gaps (whole period)
        for eff in sc.knowledge_gaps:
            members = np.flatnonzero((self.ann["team"] == eff.team).to_numpy()
                                     & ~self.ann["_type"].str.startswith("spammer").to_numpy())
            a, b = self.lab_index[eff.true], self.lab_index[eff.given]
            for j in members:
                row = self.conf[j, a].copy()
                rest = 1.0 - row[b]
                row *= (1.0 - eff.rate) / rest
                row[b] = eff.rate
                self.conf[j, a] = row
        # planted accuracy drops: a second confusion per member from the drop date
        self.conf_after = self.conf.copy()
        self.change_secs = np.full(len(self.ann), np.iinfo(np.int64).max, dtype=np.int64)
        for eff in sc.accuracy_drops:
            members = np.flatnonzero((self.ann["team"] == eff.team).to_numpy()
                                     & ~self.ann["_type"].str.startswith("spammer").to_numpy())
            cls = ([self.lab_index[c] for c in eff.classes] if eff.classes
                   else list(range(k)))
            for j in members:
                after = self.conf_after[j].copy()
                for c in cls:
                    off = after[c].copy()
                    off[c] = 0.0
                    q = off / off.sum() if off.sum() > 0 else np.full(k, 1.0 / (k - 1))
                    q[c] = 0.0
                    drop = min(eff.magnitude, after[c, c])
                    after[c] += drop * q
                    after[c, c] -= drop
                self.conf_after[j] = after
                self.change_secs[j] = eff.week * 7 * 86400  # seconds since start

    # ---------------------------------------------------------------------------------------
    def _judgments(self) -> None:
        sc, rng = self.sc, self.rng
        ann = self.ann
        n_items = self.item_ids.size
        red_p = np.asarray(sc.redundancy, float)
        red_p = red_p / red_p.sum()
        r_item = rng.choice(np.arange(1, red_p.size + 1), size=n_items, p=red_p)
        item_parts, ann_parts = [], []
        human_m = ann["_m"].to_numpy()
        weights = ann["_weight"].to_numpy()
        hire = ann["_hire_week"].to_numpy()
        for m in range(len(sc.markets)):
            items_m = np.flatnonzero(self.item_m == m)
            pool = np.flatnonzero(human_m == m)
            if items_m.size == 0 or pool.size == 0:
                continue
            logw = np.log(weights[pool])[None, :]
            g = rng.gumbel(size=(items_m.size, pool.size))
            keys = logw + g
            inactive = self.item_w[items_m][:, None] < hire[pool][None, :]
            keys[inactive] = -np.inf
            r = np.minimum(r_item[items_m], (~inactive).sum(axis=1))
            r_max = int(r.max())
            top = np.argsort(-keys, axis=1, kind="stable")[:, :r_max]
            take = np.arange(r_max)[None, :] < r[:, None]
            rows_i = np.broadcast_to(items_m[:, None], top.shape)[take]
            item_parts.append(rows_i)
            ann_parts.append(pool[top[take]])
        j_item = np.concatenate(item_parts)
        j_ann = np.concatenate(ann_parts)
        # human labeled_at: creation + exponential delay
        delay = rng.exponential(sc.label_delay_hours * 3600.0, j_item.size).astype(np.int64) + 30
        j_secs = self.item_secs[j_item] + delay
        # the model annotator
        is_model = (ann["kind"] == "model").to_numpy()
        if is_model.any():
            model_j = int(np.flatnonzero(is_model)[0])
            covered = np.flatnonzero(rng.random(n_items) < sc.model_coverage)
            m_secs = self.item_secs[covered] + rng.integers(5, 600, covered.size)
            j_item = np.concatenate([j_item, covered])
            j_ann = np.concatenate([j_ann, np.full(covered.size, model_j)])
            j_secs = np.concatenate([j_secs, m_secs])
        # labels from the confusion in effect at labeled_at
        after = j_secs >= self.change_secs[j_ann]
        true = self.item_true[j_item]
        probs = np.where(after[:, None], self.conf_after[j_ann, true], self.conf[j_ann, true])
        given = _sample_rows(rng, probs)
        # handle time: annotator speed x item difficulty x noise
        speed = ann["_speed"].to_numpy()[j_ann]
        eff = np.where(ann["kind"].to_numpy()[j_ann] == "model", 0.1, sc.difficulty_effect)
        handle = speed * np.exp(eff * self.item_difficulty[j_item]
                                + rng.normal(0.0, sc.handle_sd, j_item.size)
                                - sc.handle_sd ** 2 / 2)
        self.j_item, self.j_ann, self.j_secs = j_item, j_ann, j_secs
        self.j_after, self.j_given = after, given
        self.j_handle = np.round(np.maximum(handle, 0.1), 1)

    # ---------------------------------------------------------------------------------------
    def _assemble(self) -> Simulation:
        sc, rng = self.sc, self.rng
        ann = self.ann
        labs = np.asarray(sc.label_set, dtype=object)
        markets = np.asarray(sc.markets, dtype=object)
        queues = np.asarray([q[0] for q in sc.queues], dtype=object)
        aid = ann["annotator_id"].to_numpy(dtype=object)

        def ts(secs: np.ndarray) -> pd.Series:
            return pd.Series(pd.to_datetime(secs + self.start_s, unit="s", utc=True))

        order = np.lexsort((self.j_ann, self.j_item, self.j_secs))
        ji, ja = self.j_item[order], self.j_ann[order]
        labels = pd.DataFrame({
            "item_id": self.item_ids[ji],
            "annotator_id": aid[ja],
            "label": labs[self.j_given[order]],
            "market": markets[self.item_m[ji]],
            "queue": queues[self.item_q[ji]],
            "team": ann["team"].to_numpy(dtype=object)[ja],
            "labeled_at": ts(self.j_secs[order]),
            "handle_seconds": self.j_handle[order],
            "cost": ann["cost_per_label"].to_numpy()[ja],
        })
        items = pd.DataFrame({
            "item_id": self.item_ids,
            "market": markets[self.item_m],
            "queue": queues[self.item_q],
            "created_at": ts(self.item_secs),
            "text": self.item_text,
        })
        if sc.n_features > 0:  # own stream: the main draws stay as they are
            frng = np.random.default_rng([self.seed, 14])
            mu = frng.standard_normal((self.k, sc.n_features))
            feats = (sc.feature_signal * mu[self.item_true]
                     + frng.standard_normal((self.item_ids.size, sc.n_features)))
            for f in range(sc.n_features):
                items[f"f{f + 1}"] = feats[:, f]
        # hidden gold: a share of each market's items, known before they entered the queue
        n_items = self.item_ids.size
        is_gold = rng.random(n_items) < sc.gold_share
        g_idx = np.flatnonzero(is_gold)
        decided = self.item_secs[g_idx] - rng.integers(86400, 14 * 86400, g_idx.size)
        gold = pd.DataFrame({
            "item_id": self.item_ids[g_idx],
            "label": labs[self.item_true[g_idx]],
            "source": "benchmark",
            "decided_at": ts(decided),
        })
        annotators = ann[["annotator_id", "team", "market", "kind", "cost_per_label",
                          "capacity_per_day"]].copy()
        truth = self._truth(labs, markets, queues)
        return Simulation(labels=labels, gold=gold, annotators=annotators, items=items,
                          truth=truth, scenario=sc, seed=self.seed)

    def _truth(self, labs, markets, queues) -> Truth:
        sc, k = self.sc, self.k
        ann = self.ann
        aid = ann["annotator_id"].to_numpy(dtype=object)
        n_a = len(ann)
        true_j = self.item_true[self.j_item]
        # effective confusion per annotator: before/after mixed by that annotator's judgments
        n_before = np.bincount(self.j_ann * k + true_j, weights=~self.j_after,
                               minlength=n_a * k).reshape(n_a, k)
        n_all = np.bincount(self.j_ann * k + true_j, minlength=n_a * k).reshape(n_a, k)
        tot_before = n_before.sum(1, keepdims=True)
        tot_all = n_all.sum(1, keepdims=True)
        frac = np.where(n_all > 0, n_before / np.maximum(n_all, 1),
                        np.where(tot_all > 0, tot_before / np.maximum(tot_all, 1), 1.0))
        eff = frac[:, :, None] * self.conf + (1 - frac[:, :, None]) * self.conf_after
        changed = np.flatnonzero(self.change_secs < np.iinfo(np.int64).max)
        # class mix per market (item-weighted generating probabilities)
        item_p = self.mix[self.item_m, self.item_q, self.item_w]
        market_mix = np.array([item_p[self.item_m == m].mean(0) if (self.item_m == m).any()
                               else np.full(k, 1 / k) for m in range(len(sc.markets))])
        all_mix = item_p.mean(0)
        acc = np.array([
            _expected_accuracy(eff[j], all_mix if ann["_m"].iat[j] < 0 else market_mix[ann["_m"].iat[j]])
            for j in range(n_a)])
        # class mix and volume tables
        n_m, n_q, n_w = self.n_items_mqw.shape
        mm, qq, ww = np.meshgrid(np.arange(n_m), np.arange(n_q), np.arange(n_w), indexing="ij")
        mm, qq, ww = mm.ravel(), qq.ravel(), ww.ravel()
        week_start = pd.Series(pd.to_datetime(self.start_s + ww * 7 * 86400, unit="s", utc=True))
        class_mix = pd.DataFrame({"market": markets[mm], "queue": queues[qq], "week": ww,
                                  "week_start": week_start})
        for c, lab in enumerate(labs):
            class_mix[lab] = self.mix[mm, qq, ww, c]
        volume = pd.DataFrame({"market": markets[mm], "queue": queues[qq], "week": ww,
                               "week_start": week_start,
                               "expected": self.expected_volume.ravel(),
                               "mean": self.mean_volume.ravel(),
                               "n_items": self.n_items_mqw.ravel()})
        planted = self._planted(eff, market_mix)
        return Truth(
            true_labels=pd.Series(labs[self.item_true], index=pd.Index(self.item_ids,
                                  name="item_id"), name="label"),
            confusions={aid[j]: eff[j] for j in range(n_a)},
            confusions_before={aid[j]: self.conf[j].copy() for j in changed},
            confusions_after={aid[j]: self.conf_after[j].copy() for j in changed},
            annotator_types=pd.Series(ann["_type"].to_numpy(dtype=object),
                                      index=pd.Index(aid, name="annotator_id"), name="type"),
            true_accuracy=pd.Series(acc, index=pd.Index(aid, name="annotator_id"),
                                    name="true_accuracy"),
            planted=planted,
            label_set=list(sc.label_set),
            class_mix=class_mix,
            volume=volume,
            item_difficulty=pd.Series(self.item_difficulty,
                                      index=pd.Index(self.item_ids, name="item_id"),
                                      name="difficulty"),
        )

    def _planted(self, eff_conf: np.ndarray, market_mix: np.ndarray) -> list[dict[str, Any]]:
        sc = self.sc
        ann = self.ann
        out: list[dict[str, Any]] = []
        for eff in sc.accuracy_drops:
            m = sc.markets.index(eff.market)
            team = (ann["team"] == eff.team).to_numpy()
            members = np.flatnonzero(team)
            cut = eff.week * 7 * 86400
            in_team = team[self.j_ann]
            mix = market_mix[m]
            before_acc = np.array([_expected_accuracy(self.conf[j], mix) for j in range(len(ann))])
            after_acc = np.array([_expected_accuracy(self.conf_after[j], mix)
                                  for j in range(len(ann))])
            nb = np.bincount(self.j_ann[in_team & (self.j_secs < cut)], minlength=len(ann))
            na = np.bincount(self.j_ann[in_team & (self.j_secs >= cut)], minlength=len(ann))
            team_before = float((nb * before_acc).sum() / max(nb.sum(), 1))
            team_after = float((na * after_acc).sum() / max(na.sum(), 1))
            out.append({
                "effect": "accuracy_drop", "market": eff.market, "team": eff.team,
                "week": eff.week, "week_start": sc.week_start(eff.week).date().isoformat(),
                "classes": list(eff.classes) or list(sc.label_set),
                "magnitude": eff.magnitude,
                "annotators": [ann["annotator_id"].iat[j] for j in members
                               if self.change_secs[j] < np.iinfo(np.int64).max],
                "accuracy_before": round(team_before, 6),
                "accuracy_after": round(team_after, 6),
            })
        for eff in sc.knowledge_gaps:
            a, b = self.lab_index[eff.true], self.lab_index[eff.given]
            m = sc.markets.index(eff.market)
            in_m = (ann["_m"] == m).to_numpy()
            team = (ann["team"] == eff.team).to_numpy()
            # expected a->b rate in the team and in the rest of the market's humans,
            # weighted by each annotator's judgments of true class a
            true_j = self.item_true[self.j_item]
            n_a_cls = np.bincount(self.j_ann[true_j == a], minlength=len(ann)).astype(float)
            rate = eff_conf[:, a, b]
            rest = in_m & ~team
            out.append({
                "effect": "knowledge_gap", "market": eff.market, "team": eff.team,
                "week": 0, "week_start": sc.week_start(0).date().isoformat(),
                "true": eff.true, "given": eff.given, "rate": eff.rate,
                "team_rate": round(float((n_a_cls[team] * rate[team]).sum()
                                         / max(n_a_cls[team].sum(), 1)), 6),
                "rest_of_market_rate": round(float((n_a_cls[rest] * rate[rest]).sum()
                                                   / max(n_a_cls[rest].sum(), 1)), 6),
            })
        for eff, m, c, before, after in self._shift_records:
            vol = self.mean_volume[m, :, eff.week:].sum(1)
            w = vol / vol.sum()
            out.append({
                "effect": "mix_shift", "market": eff.market,
                "week": eff.week, "week_start": sc.week_start(eff.week).date().isoformat(),
                "label": eff.label, "factor": eff.factor,
                "rate_before": round(float((w * before[:, c]).sum()), 6),
                "rate_after": round(float((w * after[:, c]).sum()), 6),
                "by_queue": {sc.queues[q][0]: [round(float(before[q, c]), 6),
                                               round(float(after[q, c]), 6)]
                             for q in range(len(sc.queues))},
            })
        return out
