"""The NUTS engine of :class:`~insights.confidence.HierarchicalDawidSkene` (``inference="nuts"``).

The same model as the EM mode (see :mod:`insights.confidence.hierarchical`) written in PyMC and
sampled with nutpie (Numba) when installed, else PyMC's NUTS; chains start at the EM fit. The
sampler is seeded with the estimator's ``random_state`` (nutpie derives every chain's stream
from it), so a fit is reproducible: same data, parameters and seed, same draws. Diagnostics
(divergences after tuning, r-hat, bulk ESS by arviz-stats) are stored and warned on.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from insights.confidence._tree import off_diagonal
from insights.data import Encoded

__all__ = ["DiagnosticsWarning", "numba_cache_dir", "NUTSEngine"]


class DiagnosticsWarning(UserWarning):
    """NUTS diagnostics failed a threshold (divergences, r-hat >= 1.01, bulk ESS < 400)."""


def numba_cache_dir() -> Path:
    """Numba's on-disk compile cache: ``$NUMBA_CACHE_DIR``, else ``~/.cache/insights/numba``.

    Set in the environment before Numba is first imported, so that nutpie's compiled model
    is reused across report runs and CI (keep that directory in the CI cache).
    """
    path = os.environ.get("NUMBA_CACHE_DIR")
    if not path:
        base = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        path = str(Path(base) / "insights" / "numba")
        os.environ["NUMBA_CACHE_DIR"] = path
    Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


class NUTSEngine:
    """The NUTS mode's methods, mixed into :class:`HierarchicalDawidSkene` (they read its
    hyper-parameters and set its fitted attributes)."""

    def _build_pymc(self, enc: Encoded):
        import pymc as pm
        import pytensor.tensor as pt

        tree = self.hierarchy_
        K = enc.n_classes
        J, n_items = enc.n_annotators, enc.n_items
        rows = np.repeat(np.arange(K), K - 1)
        cols = off_diagonal(K).ravel()
        col = enc.annotator.astype(np.int64) * K + enc.label
        gold_mask = np.zeros((n_items, K))
        g = enc.gold >= 0
        gold_mask[g] = -1e6
        gold_mask[np.flatnonzero(g), enc.gold[g]] = 0.0
        with pm.Model() as model:
            node = pm.Normal("mu", self.prior_mean, self._mu_sd(), shape=(1, K, K - 1))
            for L in range(1, len(tree.names) - 1):
                name = tree.names[L]
                shape = (tree.sizes[L], K, K - 1)
                if name in self.fixed_levels_:  # too few groups: fixed spread, sum-to-zero
                    offset = pm.ZeroSumNormal(f"{name}_offset", self.few_groups_sd,
                                              shape=(K, K - 1, tree.sizes[L]))
                    node = node[tree.parents[L]] + offset.transpose(2, 0, 1)
                    continue
                s = pm.HalfNormal(f"sigma_{name}", self.sigma_scale)
                if name in self.centered_levels_:
                    offset = pm.Normal(f"{name}_offset", 0.0, s, shape=shape)
                else:
                    offset = s * pm.Normal(f"{name}_offset_z", 0.0, 1.0, shape=shape)
                node = node[tree.parents[L]] + offset
            s_a = pm.HalfNormal("sigma_annotator", self.sigma_scale)
            s_s = pm.HalfNormal("sigma_annotator_skill", self.sigma_scale)
            z = pm.Normal("annotator_z", 0.0, 1.0, shape=(J, K, K - 1))
            zs = pm.Normal("annotator_skill_z", 0.0, 1.0, shape=(J, 1, 1))
            dev = s_a * z + s_s * zs
            if self.annotator_df is not None:  # Student-t level as a scale mixture
                nu = float(self.annotator_df)
                w = pm.Gamma("annotator_weight", nu / 2, nu / 2, shape=(J, 1, 1))
                dev = dev / pt.sqrt(w)
            eta = node[tree.parents[-1]] + dev
            full = pt.zeros((J, K, K))
            full = pt.set_subtensor(full[:, rows, cols], eta.reshape((J, K * (K - 1))))
            logc = full - pt.logsumexp(full, axis=2, keepdims=True)
            rho = pm.Dirichlet("rho", np.ones(K))
            W = logc.transpose(0, 2, 1).reshape((J * K, K))  # row: annotator*K + given
            item_ll = pt.inc_subtensor(pt.zeros((n_items, K))[enc.item], W[col])
            total = item_ll + pt.log(rho)[None, :] + gold_mask
            pm.Potential("marginal_likelihood", pt.logsumexp(total, axis=1).sum())
        return model

    def _mu_sd(self) -> float:
        r"""NUTS prior sd of ``mu``: with a fixed-spread level (always directly under the
        population, see ``min_groups``) its iid offsets :math:`m_g \sim N(0, s^2)` are
        sampled as their sum-to-zero part (``ZeroSumNormal``) and their mean is folded into
        ``mu``, whose prior sd becomes :math:`\sqrt{s_0^2 + s^2/G}` -- the same model
        without the ridge between ``mu`` and the mean offset (EM needs no such step)."""
        tree = self.hierarchy_
        var = self.prior_sd**2
        for name in self.fixed_levels_:
            var += self.few_groups_sd**2 / tree.sizes[tree.level(name)]
        return float(np.sqrt(var))

    def _initial_point(self, enc: Encoded) -> dict:
        """Start every chain at the EM fit (majority-vote anchored: no label switching)."""
        em = type(self)(inference="em", n_posterior_draws=2, prior_mean=self.prior_mean,
                        prior_sd=self.prior_sd, random_state=self._seed,
                        annotator_df=self.annotator_df, few_groups_sd=self.few_groups_sd)
        tree = self.hierarchy_
        em.hierarchy_ = tree
        em.fixed_levels_ = self.fixed_levels_
        em._seed = self._seed
        em.classes_, em.item_ids_ = self.classes_, self.item_ids_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, rho = em._fit_em(enc)
        lv = em._em_means
        vc = em.variance_components_["sigma"]
        mu0 = lv[0].copy()
        for name in self.fixed_levels_:  # fold the fixed level's mean offset into mu
            mu0 = mu0 + (lv[tree.level(name)] - lv[0]).mean(axis=0, keepdims=True)
        init = {"mu": mu0, "rho": rho.mean(axis=0)}
        self.centered_levels_ = []
        for L in range(1, len(tree.names) - 1):
            name = tree.names[L]
            off = lv[L] - lv[L - 1][tree.parents[L]]
            if name in self.fixed_levels_:
                off = lv[L] - mu0
                init[f"{name}_offset"] = off.transpose(1, 2, 0)
                continue
            sd = max(float(vc.get(name, 0.3)), 0.05)
            centred = (self.parametrization == "centered" or (
                self.parametrization == "auto" and em._em_informed[L] > 1.0))
            if centred:
                self.centered_levels_.append(name)
                init[f"{name}_offset"] = off
            else:
                init[f"{name}_offset_z"] = off / sd
            init[f"sigma_{name}"] = np.asarray(sd)
        s_a = max(float(vc["annotator"]), 0.05)
        init["sigma_annotator"] = np.asarray(s_a)
        init["sigma_annotator_skill"] = np.asarray(max(float(vc["annotator_skill"]), 0.05))
        w = em.annotator_weights_.to_numpy()[:, None, None]
        init["annotator_z"] = (lv[-1] - lv[-2][tree.parents[-1]]) * np.sqrt(w) / s_a
        init["annotator_skill_z"] = np.zeros((enc.n_annotators, 1, 1))
        if self.annotator_df is not None:
            init["annotator_weight"] = w
        return init

    def _fit_nuts(self, enc: Encoded):
        numba_cache_dir()
        self.draws_ = (int(self.draws) if self.draws is not None else
                       int(np.clip(round(7.5e7 / enc.n_judgments, -2), 1000, 2500)))
        self.tune_ = (int(self.tune) if self.tune is not None
                      else max(600, int(round(0.4 * self.draws_, -2))))
        self._init_point = self._initial_point(enc)
        model = self._build_pymc(enc)
        tree = self.hierarchy_
        try:
            import nutpie
        except ImportError:  # pragma: no cover - nutpie is the normal path
            nutpie = None
        if nutpie is not None:
            compiled = nutpie.compile_pymc_model(model, initial_points=self._init_point)
            trace = nutpie.sample(compiled, draws=self.draws_, tune=self.tune_,
                                  chains=self.chains, cores=self.cores,
                                  seed=self._seed, target_accept=self.target_accept,
                                  progress_bar=self.progressbar)
        else:  # pragma: no cover
            import pymc as pm
            with model:
                trace = pm.sample(draws=self.draws_, tune=self.tune_, chains=self.chains,
                                  initvals=self._init_point,
                                  cores=self.cores, random_seed=self._seed,
                                  target_accept=self.target_accept,
                                  progressbar=self.progressbar)
        self.trace_ = trace
        self.annotator_weights_ = pd.Series(1.0, index=tree.labels[-1], name="weight")
        self.n_iter_ = None
        self.converged_ = None
        self._diagnose(trace)
        post = trace.posterior
        n_total = post.sizes["chain"] * post.sizes["draw"]
        S = min(self.n_posterior_draws, n_total)
        idx = np.linspace(0, n_total - 1, S).round().astype(int)

        def flat(name):
            v = post[name].values
            return v.reshape((n_total,) + v.shape[2:])[idx]

        levels = [flat("mu")]
        for L in range(1, len(tree.names) - 1):
            name = tree.names[L]
            off = (flat(f"{name}_offset").transpose(0, 3, 1, 2) if name in self.fixed_levels_
                   else flat(f"{name}_offset") if name in self.centered_levels_ else
                   flat(f"sigma_{name}")[:, None, None, None] * flat(f"{name}_offset_z"))
            levels.append(levels[-1][:, tree.parents[L]] + off)
        s_a = flat("sigma_annotator")
        s_s = flat("sigma_annotator_skill")
        dev = (s_a[:, None, None, None] * flat("annotator_z")
               + s_s[:, None, None, None] * flat("annotator_skill_z"))
        if self.annotator_df is not None:
            w = flat("annotator_weight")
            dev = dev / np.sqrt(w)
            self.annotator_weights_ = pd.Series(w[:, :, 0, 0].mean(axis=0),
                                                index=tree.labels[-1], name="weight")
        levels.append(levels[-1][:, tree.parents[-1]] + dev)
        vnames = [*tree.names[1:], "annotator_skill"]
        q = (1 - self.credible_level) / 2
        rows = []
        for n in vnames:
            if n in self.fixed_levels_:
                rows.append((self.few_groups_sd, np.nan, np.nan, True))
                continue
            v = post[f"sigma_{n}"].values.ravel()
            rows.append((v.mean(), np.quantile(v, q), np.quantile(v, 1 - q), False))
        self.variance_components_ = pd.DataFrame(
            rows, columns=["sigma", "lower", "upper", "fixed"],
            index=pd.Index(vnames, name="level"))
        return levels, flat("rho")

    def _diagnose(self, trace) -> None:
        import arviz_stats as azs

        post = trace.posterior
        names = list(post.data_vars)
        rhat = azs.rhat(trace, var_names=names)
        ess = azs.ess(trace, var_names=names, method="bulk")
        rows = {}
        for nm in names:
            rows[nm] = (float(np.nanmax(rhat[nm].values)), float(np.nanmin(ess[nm].values)))
        self.diagnostics_ = pd.DataFrame.from_dict(rows, orient="index",
                                                   columns=["r_hat", "ess_bulk"])
        self.diagnostics_.index.name = "variable"
        self.n_divergences_ = int(trace.sample_stats["diverging"].values.sum())
        problems = []
        if self.n_divergences_:
            problems.append(f"{self.n_divergences_} divergent transitions after tuning")
        bad_r = self.diagnostics_.index[self.diagnostics_["r_hat"] >= 1.01].tolist()
        if bad_r:
            problems.append(f"r-hat >= 1.01 for {bad_r}")
        sig = [n for n in names if n.startswith("sigma_")]
        bad_e = [n for n in sig if self.diagnostics_.loc[n, "ess_bulk"] < 400]
        if bad_e:
            problems.append(f"bulk ESS < 400 for {bad_e}")
        if problems:
            warnings.warn("HierarchicalDawidSkene NUTS: " + "; ".join(problems)
                          + " (increase tune/draws or target_accept)", DiagnosticsWarning,
                          stacklevel=4)

