r"""Hierarchical Dawid-Skene: annotators within teams within markets, calibrated confidence.

Model (Paun et al. 2018's HierD&S with a market/team/annotator hierarchy on the log-odds):

.. math::

    \pi_j[t, \cdot] &= \mathrm{softmax}(\eta_j[t, \cdot]), \qquad \eta_j[t, t] = 0 \\
    \eta_j[t, k] &= \mu[t,k] + m_{\mathrm{market}(j)}[t,k] + \tau_{\mathrm{team}(j)}[t,k]
                   + (\sigma_a z_j[t,k] + \sigma_s u_j) / \sqrt{w_j} \qquad (k \ne t) \\
    \mu &\sim N(\mu_0, s_0^2), \quad m \sim N(0, \sigma_m^2), \quad \tau \sim N(0, \sigma_t^2),
    \quad z, u \sim N(0, 1), \quad w_j \sim \mathrm{Gamma}(\nu/2, \nu/2),
    \quad \sigma_\cdot \sim \mathrm{HalfNormal}(s_\sigma) \\
    z_i &\sim \mathrm{Cat}(\rho), \quad \rho \sim \mathrm{Dirichlet}(1), \qquad
    y_{ij} \sim \mathrm{Cat}(\pi_j[z_i, \cdot])

The correct answer's logit is pinned to 0, so :math:`\eta` are error log-odds; the prior mean
:math:`\mu_0 = -2` favours better-than-chance annotators, which keeps the posterior out of
label-switched modes. Market and team offsets are centred, annotator offsets non-centred (with
many judgments per team the fully non-centred form diverges; with few per annotator the centred
one does). A level with a single group (one market, one team per market) is dropped; a
level with fewer than ``min_groups`` (3) groups -- typically two markets -- keeps its offsets
but with a *fixed* spread :math:`\sigma_m` = ``few_groups_sd`` (0.5) instead of an estimated
one, since two groups cannot inform a variance (Gelman 2006); NUTS samples those offsets as
``ZeroSumNormal`` with their mean folded into :math:`\mu` (an exact reparametrisation that
removes the :math:`\mu`/offset ridge).
The annotator offset has a cell-specific part (:math:`\sigma_a`) and an overall-skill part
shared by all cells (:math:`\sigma_s`); the per-annotator precision weight :math:`w_j` makes
it Student-t with :math:`\nu` = ``annotator_df`` degrees of freedom (``None``: Gaussian,
:math:`w_j = 1`), so an annotator far from their team -- a spammer -- is not pulled toward it.

The true class is marginalised: the log-likelihood is
:math:`\sum_i \log\sum_t \rho_t \exp(\sum_{j} \log\pi_j[t, y_{ij}])`, the inner sums computed
for all judgments at once as a segment sum over items (no discrete variable is sampled). Gold
items only keep their gold class. Item posteriors are averaged over posterior draws
(Rao-Blackwellised): :math:`P(z_i = t \mid y) \approx \frac1S \sum_s P(z_i = t \mid y, \theta_s)`.

Inference
---------
``inference="nuts"``
    PyMC 6 model sampled with nutpie (Numba) when installed, else PyMC's NUTS. Diagnostics
    (divergences after tuning, r-hat, bulk ESS) are stored in ``diagnostics_`` and warned on.
    Numba's compile cache goes to ``$NUMBA_CACHE_DIR`` if set, else
    ``~/.cache/insights/numba`` (set before Numba is first imported).
``inference="em"``
    EM whose M-step fits the same hierarchical model to the expected confusion counts
    :math:`C_j[t, k] = \sum_i P(z_i = t) N_{ijk}` (annotator x true x given, independent of the
    number of items). The M-step is a Laplace / empirical-Bayes step: the multinomial
    log-likelihood of every annotator's rows is expanded to second order at the current
    log-odds, which makes the whole tree (population -> market -> team -> annotator) Gaussian;
    exact Gaussian belief propagation on the tree (``_tree.gaussian_tree``) gives the joint
    Newton step for all offsets *and* their posterior covariances. The variance components
    (every level's :math:`\sigma_L`, the annotators' :math:`\sigma_a, \sigma_s`) then
    *maximise* the Laplace approximation of their marginal likelihood -- the tree's
    ``log_evidence``, the offsets integrated out -- plus weak inverse-gamma(1, 0.05) priors
    on :math:`\sigma_L^2` and :math:`\sigma_a^2`, by L-BFGS on the log sds with the exact
    gradient from Fisher's identity (the expected complete-data score,
    :math:`\partial/\partial\Sigma = \tfrac12\sum_j \Sigma^{-1}(E[\delta_j\delta_j'] -
    \Sigma)\Sigma^{-1}`). That is ECME (Liu & Rubin 1994): a conditional maximisation of the
    (approximate) observed-data likelihood in place of the EM update
    :math:`\sigma^2 \leftarrow E[\delta'\delta]/n`, which has the same fixed points but
    moves by a small fraction of the remaining distance per step when the data say little
    about the variances (many annotators with a handful of judgments): on cf_weather (461
    annotators with ~4 judgments, K = 5) EM needed 2,435 steps, 76 s, ECME 85 steps, 7 s.

    The iteration is accelerated with SQUAREM (Varadhan & Roland 2008, scheme S3) on the
    whole EM state (log-odds, log variance components, log Student-t weights, log class
    prior): two EM steps :math:`\theta_1 = F(\theta_0), \theta_2 = F(\theta_1)` give
    :math:`r = \theta_1 - \theta_0` and :math:`v = \theta_2 - 2\theta_1 + \theta_0`; the
    next state is :math:`F(\theta_0 + 2\alpha r + \alpha^2 v)` with the step length
    :math:`\alpha = \lVert r\rVert / \lVert v\rVert` measured on the slow coordinates
    (variance components and weights), at least 1 and at most a bound that grows fourfold
    when reached. An extrapolation whose EM residual is more than 10 times the plain one (or
    not finite) is rejected: the plain iterate :math:`\theta_2` is kept and the bound
    shrinks. The fixed points are those of the plain iteration. EM stops when one step
    changes the log-likelihood by less than ``tol`` per judgment *and* every log variance
    component by less than :math:`\sqrt{\mathrm{tol}}` (near a fixed point the likelihood
    changes quadratically in the parameters); a likelihood test alone can stop early, far
    from the fixed point, while the variance components still drift.

    With ``annotator_df = nu`` (default 4) the annotator offsets are Student-t rather than
    Gaussian: :math:`\eta_j - \eta_{\mathrm{team}(j)} \sim N(0, \Sigma_a / w_j)`,
    :math:`w_j \sim \mathrm{Gamma}(\nu/2, \nu/2)`, :math:`\Sigma_a = \sigma_a^2 I +
    \sigma_s^2 \mathbf{1}\mathbf{1}'` (cell-specific and overall-skill parts). The EM adds
    the usual scale-mixture E-step :math:`w_j = (\nu + d)/(\nu + \mathrm{tr}(\Sigma_a^{-1}
    E[\delta_j\delta_j']))`; given the weights, annotator ``j``'s offset is Gaussian with
    covariance :math:`\Sigma_a / w_j` in the marginal likelihood above. An annotator far
    from their team -- a spammer -- gets a small weight, so a low-volume spammer is no longer
    pulled toward the team's accuracy and does not inflate :math:`\Sigma_a` for everyone else
    (on the issue-4 test problem: sparse-annotator accuracy RMSE 0.091 vs 0.093 Gaussian,
    0.055 vs 0.064 on honest ones). ``annotator_df=None`` is the Gaussian level.
    NUTS samples the same model (:math:`w_j` as ``annotator_weight``).

    Because the offsets are integrated out (their posterior variance counts), the annotator
    variance neither collapses to 0 (full pooling) nor runs off to no pooling as joint MAP
    over offsets and variances does. Item probabilities are averaged over draws from
    the Gaussian approximation (ancestral sampling on the tree) and class priors from
    :math:`\mathrm{Dirichlet}(1 + \sum_i P(z_i))`. Not ADVI and not plain MAP.

References
----------
S. Paun, B. Carpenter, J. Chamberlain, D. Hovy, U. Kruschwitz, M. Poesio. Comparing Bayesian
Models of Annotation. TACL 6:571-585, 2018.
A. P. Dawid and A. M. Skene. Applied Statistics 28(1):20-28, 1979.
R. Varadhan and C. Roland. Simple and globally convergent methods for accelerating the
convergence of any EM algorithm. Scandinavian Journal of Statistics 35(2):335-353, 2008.
C. Liu and D. B. Rubin. The ECME algorithm: a simple extension of EM and ECM with faster
monotone convergence. Biometrika 81(4):633-648, 1994.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from insights.confidence._em_engine import HierarchicalEM
from insights.confidence._nuts_engine import DiagnosticsWarning, NUTSEngine, numba_cache_dir
from insights.confidence._tree import (
    Hierarchy,
    build_hierarchy,
    log_confusion,
    sample_tree,
)
from insights.data import Dataset, Encoded
from insights.reliability import Aggregator
from insights.reliability.em import (
    clamp_gold,
    log_likelihood_matrix,
    log_normalize,
)

__all__ = ["HierarchicalDawidSkene", "DiagnosticsWarning", "numba_cache_dir"]



def _annotator_table(labels) -> pd.DataFrame | None:
    if isinstance(labels, Dataset):
        return labels.annotator_table()
    if isinstance(labels, pd.DataFrame) and {"team", "market"} & set(labels.columns):
        cols = [c for c in ("team", "market") if c in labels.columns]
        return (labels.groupby("annotator_id")[cols]
                .agg(lambda s: s.mode().iat[0] if len(s.mode()) else None))
    return None


class HierarchicalDawidSkene(NUTSEngine, Aggregator):
    """Dawid-Skene with annotator confusions pooled within team and market.

    See the module docstring for the model and the two inference modes.

    Parameters
    ----------
    inference : {"em", "nuts"}, default "em"
        ``"em"``: Laplace/empirical-Bayes EM (seconds at 1e6 judgments). ``"nuts"``: full
        posterior with PyMC + nutpie.
    draws : int or None, default None
        NUTS draws per chain. ``None``: scaled to the problem, a budget of about
        7.5e7 judgment-draws (cost per draw grows with the judgments) clipped
        to 1000..2500 -- 2500 on the issue-4 2k-item problem (7k judgments; bulk ESS of every
        variance component > 500 there, 180-400 with 1000), 1000 from ~75k judgments (20k
        items), where the time target (< 5 min on 2 cores) binds.
        Resolved in ``draws_``.
    tune : int or None, default None
        NUTS tuning steps per chain. ``None``: ``max(600, 0.4 * draws_)`` -- 1000 on the 2k
        problem, 600 from 20k items (nutpie's adaptation starts at the EM fit and needs few
        tuning steps: no divergences with 600 on the benchmark problems; the longer warm-up
        where the time allows steadies r-hat: 2k problem, seed 0, worst r-hat 1.011 with 600,
        1.005 with 1000). Resolved in ``tune_``.
    chains, cores : int
        NUTS chains and parallel processes. Default 2 / 2.
    target_accept : float, default 0.9
    n_posterior_draws : int, default 200
        Posterior draws (thinned evenly; EM: drawn from the Gaussian approximation) over which
        item posteriors and all intervals are computed.
    credible_level : float, default 0.9
        Central credible intervals; ``confidence_["lower"]`` is their lower end.
    prior_mean, prior_sd : float, default -2.0, 1.5
        Normal prior on the population error log-odds (-2: an error has about a tenth of the
        correct answer's probability).
    sigma_scale : float, default 1.0
        HalfNormal scale of the variance components (NUTS).
    max_iter : int, default 300
    tol : float, default 1e-7
        EM stops when one EM step changes the log-likelihood by less than ``tol`` per
        judgment and every log variance component by less than ``sqrt(tol)``. ``max_iter``
        counts EM steps (SQUAREM's extrapolations included).
    random_state : int, default 0
        Seed of everything random (EM: the draws from the Gaussian approximation; NUTS: the
        sampler's seed): the same data, parameters and seed give the same numbers.
    random_seed : int or None, default None
        Deprecated alias of ``random_state`` (used when not None, with a DeprecationWarning).
    progressbar : bool, default False
        NUTS: nutpie's / PyMC's progress bar; EM: a tqdm bar over the iterations.
    parametrization : {"auto", "centered", "noncentered"}, default "auto"
        NUTS parametrisation of the market and team offsets (annotators are always
        non-centred). ``"auto"`` centres a level when its groups are well informed by data
        -- the EM fit's median data precision per offset times the level's variance exceeds
        1, the usual situation with many judgments per team -- and otherwise uses the
        non-centred form, which samples better when groups have little data (small tests).
        The levels centred are listed in ``centered_levels_``.
    annotator_df : float or None, default 4.0
        Degrees of freedom of the Student-t annotator level (a scale mixture of Gaussians;
        robust to spammers and other annotators far from their team). ``None``: Gaussian.
    min_groups : int, default 3
        A market or team level with fewer groups than this has its spread *fixed* at
        ``few_groups_sd`` instead of estimated (its offsets are then "fixed effects" with a
        weakly-informative prior): the variance of a level from two groups is determined by
        its prior, not by data (Gelman 2006, "Prior distributions for variance parameters in
        hierarchical models"), and sampling it is what limited the NUTS effective sample size
        (issue-4 benchmark, 2 markets: bulk ESS of ``sigma_market`` 180 of 2000 draws).
        Listed in ``fixed_levels_``.
    few_groups_sd : float, default 0.5
        The fixed spread (sd of the error log-odds offsets) of such a level: groups' error
        log-odds within about +-1 of their parent's (95%), i.e. error rates within a factor
        of ~2.7 -- weakly informative; with a market's thousands of judgments the data dominate.

    Attributes
    ----------
    probas_ : DataFrame
        item_id x class posterior (gold items clamped to their gold class).
    labels_ : Series
        item_id -> most probable class.
    confidence_ : DataFrame
        item_id -> ``label``, ``confidence`` (posterior probability of the chosen class),
        ``lower`` (lower end of its credible interval over draws), ``gold``.
    gold_probas_ : DataFrame
        For gold items: the posterior from the judgments alone (not clamped), for calibration.
    annotator_accuracy_, team_accuracy_, market_accuracy_ : DataFrame
        ``accuracy`` (posterior mean), ``lower``, ``upper``, ``n_judgments`` (+ ``team``,
        ``market``, ``n_annotators``). Accuracy is :math:`\\sum_t \\rho_t \\pi[t,t]`; a team's
        (market's) is the judgment-weighted mean over its annotators (the accuracy of the
        labels it delivered), ``typical`` is that of a new annotator of the group (offset 0).
        Team/market frames are empty when the level is absent.
    confusions_, confusions_lower_, confusions_upper_ : ndarray (J, K, K)
        Annotator confusion matrices (mean, interval).
    variance_components_ : DataFrame
        Level -> ``sigma`` (posterior mean; EM: estimate), ``lower``, ``upper``.
    priors_ : Series
        Class prior (posterior mean).
    diagnostics_ : DataFrame
        NUTS: per variable ``r_hat`` (max), ``ess_bulk`` (min); EM: empty.
    n_divergences_ : int
    sampling_time_ : float
        Seconds in the sampler / EM loop.
    n_iter_, converged_ : EM iterations and convergence (NUTS: None).
    annotator_weights_ : Series
        Posterior mean of every annotator's Student-t precision weight :math:`w_j` (1 for a
        Gaussian level; well below 1 for annotators far from their team, e.g. spammers).
    hierarchy_ : Hierarchy
    fixed_levels_ : list of str
        Levels whose spread is fixed at ``few_groups_sd`` (fewer than ``min_groups`` groups);
        their ``variance_components_`` row has ``fixed=True`` and no interval.

    Examples
    --------
    >>> from insights.confidence import HierarchicalDawidSkene, simulate_operation
    >>> op = simulate_operation(n_items=300, n_annotators=30, seed=1)
    >>> model = HierarchicalDawidSkene().fit(op.labels, gold=op.gold, annotators=op.annotators)
    >>> float(model.confidence_["confidence"].min()) > 0.3
    True
    """

    def __init__(self, inference: str = "em", draws: int | None = None, tune: int | None = None,
                 chains: int = 2, cores: int = 2, target_accept: float = 0.9,
                 n_posterior_draws: int = 200, credible_level: float = 0.9,
                 prior_mean: float = -2.0, prior_sd: float = 1.5, sigma_scale: float = 1.0,
                 max_iter: int = 300, tol: float = 1e-7, random_state: int = 0,
                 progressbar: bool = False, parametrization: str = "auto",
                 annotator_df: float | None = 4.0, min_groups: int = 3,
                 few_groups_sd: float = 0.5, random_seed: int | None = None):
        self.inference = inference
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.target_accept = target_accept
        self.n_posterior_draws = n_posterior_draws
        self.credible_level = credible_level
        self.prior_mean = prior_mean
        self.prior_sd = prior_sd
        self.sigma_scale = sigma_scale
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.random_seed = random_seed
        self.progressbar = progressbar
        self.parametrization = parametrization
        self.annotator_df = annotator_df
        self.min_groups = min_groups
        self.few_groups_sd = few_groups_sd

    # ------------------------------------------------------------------------------------
    _parameter_constraints: dict = {
        "inference": [StrOptions({"em", "nuts"})],
        "draws": [Interval(Integral, 1, None, closed="left"), None],
        "tune": [Interval(Integral, 0, None, closed="left"), None],
        "chains": [Interval(Integral, 1, None, closed="left")],
        "cores": [Interval(Integral, 1, None, closed="left")],
        "target_accept": [Interval(Real, 0, 1, closed="neither")],
        "n_posterior_draws": [Interval(Integral, 1, None, closed="left")],
        "credible_level": [Interval(Real, 0, 1, closed="neither")],
        "prior_mean": [Interval(Real, None, None, closed="neither")],
        "prior_sd": [Interval(Real, 0, None, closed="neither")],
        "sigma_scale": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "random_seed": [Interval(Integral, 0, None, closed="left"), None],
        "progressbar": ["boolean"],
        "parametrization": [StrOptions({"auto", "centered", "noncentered"})],
        "annotator_df": [Interval(Real, 0, None, closed="neither"), None],
        "min_groups": [Interval(Integral, 1, None, closed="left")],
        "few_groups_sd": [Interval(Real, 0, None, closed="neither")],
    }

    def fit(self, labels, gold: pd.DataFrame | None = None, *,
            annotators: pd.DataFrame | None = None, classes=None):
        """Fit on a labels table.

        Parameters
        ----------
        labels : DataFrame, Dataset or Encoded
        gold : DataFrame, optional
            ``item_id``, ``label``; gold items are clamped to their gold class.
        annotators : DataFrame, optional
            Index ``annotator_id`` (or a column of that name) with ``team`` and ``market``,
            as :meth:`insights.data.Dataset.annotator_table` returns. Default: a Dataset's
            annotator table, or the labels' own ``team``/``market`` columns, else one group.
        classes : sequence of str, optional

        Returns
        -------
        self
        """
        self._validate_params()
        if self.random_seed is not None:
            warnings.warn("HierarchicalDawidSkene(random_seed=...) is deprecated; use "
                          "random_state=...", DeprecationWarning, stacklevel=2)
        self._seed = int(self.random_state if self.random_seed is None else self.random_seed)
        table = annotators if annotators is not None else _annotator_table(labels)
        if table is not None and "annotator_id" in getattr(table, "columns", ()):
            table = table.set_index("annotator_id")
        enc = self._prepare(labels, gold, classes)
        self.hierarchy_ = build_hierarchy(self.annotator_ids_, table)
        tree = self.hierarchy_
        self.fixed_levels_ = [tree.names[L] for L in range(1, len(tree.names) - 1)
                              if tree.sizes[L] < self.min_groups]
        t0 = time.perf_counter()
        if self.inference == "em":
            level_draws, rho_draws = self._fit_em(enc)
        else:
            level_draws, rho_draws = self._fit_nuts(enc)
        self.sampling_time_ = time.perf_counter() - t0
        self._summarise(enc, level_draws, rho_draws)
        return self

    # ------------------------------------------------------------------------------------
    def _fit_em(self, enc: Encoded):
        """EM mode: run :class:`~insights.confidence._em_engine.HierarchicalEM`, then draw
        from the Gaussian approximation at its fixed point."""
        tree = self.hierarchy_
        K = enc.n_classes
        nL = len(tree.names)
        dk = K - 1
        engine = HierarchicalEM(enc, tree, list(getattr(self, "fixed_levels_", [])),
                                prior_mean=self.prior_mean, prior_sd=self.prior_sd,
                                annotator_df=self.annotator_df,
                                few_groups_sd=self.few_groups_sd)
        bar = None
        if self.progressbar:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_iter, desc="hierarchical EM", unit="step", leave=False)
        try:
            # the M-step works on many small matrices (annotators x d x d): BLAS threads
            # only add wake-up overhead there (cf_weather: 3.4 s wall and 6.6 s CPU on two
            # threads, 2.4 s on one)
            with threadpool_limits(1, user_api="blas"):
                state, it, converged, history = engine.run(self.max_iter, self.tol,
                                                           progress=bar)
        finally:
            if bar is not None:
                bar.close()
        sig, sig_a, sig_s, w = state.sig, state.sig_a, state.sig_s, state.w
        post, _ = engine.e_step(state)
        self.n_iter_ = it
        self.converged_ = converged
        self.annotator_weights_ = pd.Series(w, index=tree.labels[-1], name="weight")
        self.log_likelihood_ = history
        if not converged:
            self._warn_not_converged(it)
        # the Gaussian approximation at the converged point, then draws from it
        tp, cv = engine.approximation(state, post)
        self._em_means = [m.reshape((m.shape[0], K, dk)) for m in tp.mean]
        # how strongly each level's groups are informed by data relative to their prior sd:
        # median over groups of mean(diag(data precision)) * sigma^2 (> 1: centred is better)
        self._em_informed = [float(np.median(np.diagonal(tp.D[L], axis1=1, axis2=2).mean(axis=1)))
                             * (sig[L] ** 2 if 0 < L < nL - 1 else 1.0) for L in range(nL)]
        rng = np.random.default_rng(self._seed)
        S = self.n_posterior_draws
        level_draws = [x.reshape(x.shape[:2] + (K, dk))
                       for x in sample_tree(tp, tree, cv, S, rng)]
        rho_draws = rng.dirichlet(1.0 + post.sum(axis=0), size=S)
        self.n_divergences_ = 0
        self.diagnostics_ = pd.DataFrame(columns=["r_hat", "ess_bulk"])
        names = [*tree.names[1:-1], "annotator", "annotator_skill"]
        vals = [*sig[1:-1], sig_a, sig_s]
        self.variance_components_ = pd.DataFrame(
            {"sigma": vals, "lower": np.nan, "upper": np.nan,
             "fixed": [n in self.fixed_levels_ for n in names]},
            index=pd.Index(names, name="level"))
        return level_draws, rho_draws

    # ------------------------------------------------------------------------------------
    # ------------------------------------------------------------------------------------
    def _summarise(self, enc: Encoded, levels: list, rho: np.ndarray) -> None:
        tree = self.hierarchy_
        K = enc.n_classes
        S = rho.shape[0]
        q = (1 - self.credible_level) / 2
        gold = enc.gold
        has_gold = gold >= 0
        logc = log_confusion(levels[-1])  # (S, J, K, K)
        log_rho = np.log(rho)
        mean = np.zeros((enc.n_items, K))
        for s in range(S):
            p, _ = log_normalize(log_likelihood_matrix(enc, logc[s], log_rho[s]))
            mean += p
        mean /= S
        gold_probas = mean[has_gold].copy()
        post = clamp_gold(mean.copy(), gold)
        self._set_outputs(post)
        chosen = np.argmax(post, axis=1)
        # second pass over the draws for the chosen class's spread (the per-draw posteriors
        # are recomputed, not kept: S x items x K floats is gigabytes at 1e6 judgments)
        pick = np.empty((S, enc.n_items), dtype=np.float32)
        rows = np.arange(enc.n_items)
        for s in range(S):
            p, _ = log_normalize(log_likelihood_matrix(enc, logc[s], log_rho[s]))
            pick[s] = p[rows, chosen]
        lower = np.quantile(pick, q, axis=0)
        lower[has_gold] = 1.0
        idx = pd.Index(self.item_ids_, name="item_id")
        gold_lab = np.where(has_gold, self.classes_[np.maximum(gold, 0)], None)
        self.confidence_ = pd.DataFrame({
            "label": self.classes_[chosen], "confidence": post[rows, chosen],
            "lower": lower, "gold": gold_lab}, index=idx)
        self.gold_probas_ = pd.DataFrame(gold_probas, index=idx[has_gold],
                                         columns=pd.Index(self.classes_, name="class"))
        self.priors_ = pd.Series(rho.mean(axis=0), index=pd.Index(self.classes_, name="class"),
                                 name="prior")
        conf = np.exp(logc)
        self.confusions_ = conf.mean(axis=0)
        self.confusions_lower_, self.confusions_upper_ = np.quantile(conf, [q, 1 - q], axis=0)
        diag = np.einsum("sjtt->sjt", conf)
        acc = np.einsum("st,sjt->sj", rho, diag)  # (S, J)
        n_j = np.bincount(enc.annotator, minlength=enc.n_annotators).astype(float)
        self._acc_draws = acc
        self._conf_draws = conf
        self._rho_draws = rho
        self._level_draws = levels
        self._n_j = n_j
        self.annotator_accuracy_ = pd.DataFrame({
            "accuracy": acc.mean(axis=0), "lower": np.quantile(acc, q, axis=0),
            "upper": np.quantile(acc, 1 - q, axis=0), "n_judgments": n_j.astype(int),
            "team": tree.annotator_team, "market": tree.annotator_market,
        }, index=pd.Index(self.annotator_ids_, name="annotator_id"))
        self.team_accuracy_ = self._group_accuracy("team")
        self.market_accuracy_ = self._group_accuracy("market")
        self.accuracies_ = self.annotator_accuracy_["accuracy"].rename("accuracy")

    def _group_draws(self, level: str):
        """(S, G) judgment-weighted accuracy draws and group names for a level."""
        tree = self.hierarchy_
        L = tree.level(level)
        grp = tree.ancestor(len(tree.names) - 1, L)
        G = tree.sizes[L]
        w = np.zeros((len(self._n_j), G))
        w[np.arange(len(grp)), grp] = self._n_j
        tot = w.sum(axis=0)
        draws = (self._acc_draws @ w) / np.where(tot > 0, tot, 1.0)
        return draws, tree.labels[L], w

    def _group_accuracy(self, level: str) -> pd.DataFrame:
        cols = ["accuracy", "lower", "upper", "typical", "n_annotators", "n_judgments"]
        if level not in self.hierarchy_.names:
            return pd.DataFrame(columns=cols)
        q = (1 - self.credible_level) / 2
        draws, names, w = self._group_draws(level)
        L = self.hierarchy_.level(level)
        typ_conf = np.exp(log_confusion(self._level_draws[L]))  # (S, G, K, K)
        typical = np.einsum("st,sgtt->sg", self._rho_draws, typ_conf).mean(axis=0)
        return pd.DataFrame({
            "accuracy": draws.mean(axis=0), "lower": np.quantile(draws, q, axis=0),
            "upper": np.quantile(draws, 1 - q, axis=0), "typical": typical,
            "n_annotators": (w > 0).sum(axis=0), "n_judgments": w.sum(axis=0).astype(int),
        }, index=pd.Index(names, name=level))

    # ------------------------------------------------------------------------------------
    def prob_more_accurate(self, a: str, b: str, level: str = "team") -> float:
        """Posterior probability that group ``a`` delivered more accurate labels than ``b``.

        ``level`` is ``"team"``, ``"market"`` or ``"annotator"``.
        """
        if level == "annotator":
            idx = pd.Index(self.annotator_ids_)
            d = self._acc_draws
        else:
            if level not in self.hierarchy_.names:
                raise ValueError(f"no {level!r} level in this model (levels: "
                                 f"{self.hierarchy_.names[1:]})")
            d, idx, _ = self._group_draws(level)
        ia, ib = idx.get_indexer([a, b])
        if ia < 0 or ib < 0:
            raise KeyError(f"unknown {level} {a if ia < 0 else b!r}; known: {list(idx)[:10]}")
        return float(np.mean(d[:, ia] > d[:, ib]))

    def comparison_matrix(self, level: str = "team") -> pd.DataFrame:
        """P(row group more accurate than column group) for every pair of a level."""
        d, idx, _ = self._group_draws(level)
        p = (d[:, :, None] > d[:, None, :]).mean(axis=0)
        return pd.DataFrame(p, index=idx, columns=idx)

    def confusion_table(self, level: str = "annotator", name: str | None = None
                        ) -> pd.DataFrame:
        """Long table ``true``, ``given``, ``mean``, ``lower``, ``upper`` of one confusion matrix.

        ``level="annotator"`` with an annotator id, or ``"team"``/``"market"`` with a group
        name (the judgment-weighted confusion of its annotators).
        """
        q = (1 - self.credible_level) / 2
        if level == "annotator":
            j = pd.Index(self.annotator_ids_).get_indexer([name])[0]
            if j < 0:
                raise KeyError(f"unknown annotator {name!r}")
            c = self._conf_draws[:, j]
        else:
            _, idx, w = self._group_draws(level)
            g = idx.get_indexer([name])[0]
            if g < 0:
                raise KeyError(f"unknown {level} {name!r}; known: {list(idx)}")
            ww = w[:, g] / max(w[:, g].sum(), 1e-300)
            c = np.einsum("sjtk,j->stk", self._conf_draws, ww)
        K = c.shape[-1]
        t, k = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
        return pd.DataFrame({
            "true": self.classes_[t.ravel()], "given": self.classes_[k.ravel()],
            "mean": c.mean(axis=0).ravel(), "lower": np.quantile(c, q, axis=0).ravel(),
            "upper": np.quantile(c, 1 - q, axis=0).ravel()})

    def review_list(self, cost: pd.Series | None = None, reviewer_accuracy: float = 1.0,
                    budget: int | None = None) -> pd.DataFrame:
        """Items to re-review, best first; see :func:`insights.confidence.review_list`."""
        from insights.confidence.calibration import review_list

        return review_list(self.probas_, cost=cost, reviewer_accuracy=reviewer_accuracy,
                           budget=budget, exclude=self.confidence_.index[
                               self.confidence_["gold"].notna()],
                           lower=self.confidence_["lower"])

    def _tree(self) -> Hierarchy:  # pragma: no cover - convenience
        return self.hierarchy_
