"""EM primitives shared by the truth-inference models (public: used by ``confidence`` and ``scale``).

Every model converts its input once with :func:`insights.data.as_encoded` and then works on
integer codes and the sparse item x (annotator * K + given label) incidence matrix ``N``. The
confusion-matrix family (Dawid-Skene, one-coin, MACE, the hierarchical model, the streaming and
Spark drivers) shares one E-step and one M-step statistic:

* E-step: :func:`log_likelihood_matrix` (``N @ log pi + log rho``), normalised with
  :func:`log_normalize` and gold-clamped by :func:`normalize_clamped` (:func:`e_step` does all
  three);
* M-step statistic: :func:`expected_counts` (``N.T @ T``, reshaped to (J, K_given, K_true));
* the EM start: :func:`soft_majority` (vote shares);
* :func:`em_pass` (one E-step + statistics on a set of whole items) and :class:`ItemBlocks`
  (the same on fixed item blocks in threads);
* :func:`squarem` (the SQUAREM S3 driver, Varadhan & Roland 2008, used by Dawid-Skene,
  one-coin and the hierarchical EM) and its extrapolation :func:`squarem_step`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from insights.data import Encoded

__all__ = ["LOG_FLOOR", "safe_log", "log_normalize", "soft_majority", "clamp_gold",
           "argmax_first", "expected_counts", "log_likelihood_matrix", "e_step",
           "normalize_clamped", "em_pass", "ItemBlocks", "squarem_step", "squarem",
           "SquaremResult"]


#: Smallest probability whose logarithm is taken; zero-probability cells map to ``log(1e-300)``
#: (about -690) instead of ``-inf`` so that an item contradicting every class stays finite.
LOG_FLOOR = 1e-300


def safe_log(x: np.ndarray) -> np.ndarray:
    """``log(max(x, LOG_FLOOR))``."""
    return np.log(np.maximum(x, LOG_FLOOR))


def log_normalize(log_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise log-sum-exp normalisation.

    Parameters
    ----------
    log_p : ndarray of shape (n, K)
        Unnormalised log probabilities.

    Returns
    -------
    post : ndarray of shape (n, K)
        ``exp(log_p - logsumexp(log_p, axis=1))``.
    log_z : ndarray of shape (n,)
        The row log normalisers (each item's marginal log-likelihood).
    """
    # column-wise passes over a Fortran-ordered copy: with K ~ 2-10 classes a row-wise
    # reduction over the short last axis is several times slower
    post = np.array(log_p, dtype=np.float64, order="F")
    K = post.shape[1]
    m = post[:, 0].copy()
    for k in range(1, K):
        np.maximum(m, post[:, k], out=m)
    post -= m[:, None]
    np.exp(post, out=post)
    s = post[:, 0].copy()
    for k in range(1, K):
        s += post[:, k]
    post /= s[:, None]
    return post, np.log(s) + m


def soft_majority(enc: Encoded) -> np.ndarray:
    """Vote shares per item (item x class, rows sum to 1): the soft majority vote.

    Computed as ``incidence @ S`` with ``S[j*K + k, k] = 1`` (the vote counts), so it works
    on anything with an ``incidence`` matrix (an encoding or a block of its items).
    """
    K = enc.n_classes
    select = np.tile(np.eye(K), (enc.n_annotators, 1))
    counts = np.asarray(enc.incidence @ select)
    return counts / counts.sum(axis=1, keepdims=True)


def clamp_gold(post: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Set the posterior of every gold item (``gold >= 0``) to its gold class, in place."""
    has = gold >= 0
    if has.any():
        post[has] = 0.0
        post[np.flatnonzero(has), gold[has]] = 1.0
    return post


def argmax_first(p: np.ndarray) -> np.ndarray:
    """Row argmax; exact ties go to the first class in ``classes_`` order (deterministic)."""
    return np.argmax(p, axis=1)


def expected_counts(enc: Encoded, post: np.ndarray) -> np.ndarray:
    """M-step statistics: ``C[j, given, true] = sum_i N_{i,j,given} * post[i, true]``.

    One sparse product ``incidence.T @ post`` reshaped to (J, K, K). The transposed view
    (CSC) walks the items in order and scatters into the small (J*K, K) result, which is
    about ten times faster at 1e7 judgments than ``incidence_t @ post`` (CSR rows of
    annotator-labels gathering from random items).
    """
    K = enc.n_classes
    c = enc.incidence.T @ post
    return np.asarray(c).reshape(enc.n_annotators, K, K)


def log_likelihood_matrix(enc: Encoded, log_conf: np.ndarray, log_prior: np.ndarray
                          ) -> np.ndarray:
    """E-step: ``log p(z_i = t) + sum_{j,k} N_{ijk} log pi_j[t, k]`` for all items and t.

    Parameters
    ----------
    log_conf : ndarray (J, K_true, K_given)
        Log confusion matrices.
    log_prior : ndarray (K,)
    """
    J, K, _ = log_conf.shape
    w = np.ascontiguousarray(log_conf.transpose(0, 2, 1).reshape(J * K, K))
    out = enc.incidence @ w
    out += log_prior
    return np.asarray(out)


def e_step(enc: Encoded, log_conf: np.ndarray, log_prior: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """The confusion-matrix models' E-step with gold clamping.

    Returns the item posteriors and each item's log-likelihood term ``log Z_i``. A gold item
    (``enc.gold >= 0``) is clamped to its gold class and scored at it:
    ``log rho_g + sum_{j,k} N_ijk log pi_j[g, k]``. Item-local, so any partition of the items
    into chunks (a Parquet stream, Spark partitions) gives the same numbers.
    """
    return normalize_clamped(log_likelihood_matrix(enc, log_conf, log_prior), enc.gold)


def normalize_clamped(log_p: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`log_normalize`, then every gold item (``gold >= 0``) clamped to its gold class
    and scored at it (``log_z_i = log_p[i, gold_i]``): the E-step end of every EM model here."""
    post, log_z = log_normalize(log_p)
    gold_rows = np.flatnonzero(gold >= 0)
    if gold_rows.size:
        log_z[gold_rows] = log_p[gold_rows, gold[gold_rows]]
        clamp_gold(post, gold)
    return post, log_z


def _sq(x: np.ndarray) -> float:
    """``x @ x`` without BLAS (a threaded BLAS dot of a few thousand numbers can take
    milliseconds waking its threads on a busy machine)."""
    return float(np.einsum("i,i->", x, x))


def squarem_step(theta0: np.ndarray, theta1: np.ndarray, theta2: np.ndarray,
                 step_max: float, on: slice = slice(None)
                 ) -> tuple[np.ndarray, float, np.ndarray]:
    r"""SQUAREM extrapolation (Varadhan & Roland 2008, scheme S3).

    From two EM steps :math:`\theta_1 = F(\theta_0)`, :math:`\theta_2 = F(\theta_1)`:
    :math:`r = \theta_1 - \theta_0`, :math:`v = \theta_2 - 2\theta_1 + \theta_0` and the
    point :math:`\theta_0 + 2\alpha r + \alpha^2 v` with the step length
    :math:`\alpha = \lVert r\rVert / \lVert v\rVert` (norms over the coordinates ``on``)
    clipped to ``[1, step_max]`` (:math:`\alpha = 1` gives :math:`\theta_2` back).

    Returns the extrapolated point, ``alpha`` and ``r``.
    """
    r = theta1 - theta0
    v = theta2 - theta1 - r
    alpha = float(np.sqrt(_sq(r[on]) / max(_sq(v[on]), 1e-300)))
    alpha = min(max(alpha, 1.0), step_max)
    return theta0 + 2.0 * alpha * r + alpha**2 * v, alpha, r


@dataclass
class SquaremResult:
    """What :func:`squarem` returns.

    ``theta``: the current iterate (``F`` of the last point evaluated when converged);
    ``last``: the last point at which ``step`` was evaluated (its E-step is the last one run);
    ``n_evals``: evaluations of ``step`` (EM-step equivalents); ``converged``;
    ``history``: the objective at every accepted point, in order.
    """

    theta: np.ndarray
    last: np.ndarray
    n_evals: int
    converged: bool
    history: list = field(default_factory=list)


def squarem(step: Callable[[np.ndarray], tuple[np.ndarray, float]], theta: np.ndarray, *,
            max_evals: int,
            converged: Callable[[float, float, np.ndarray, np.ndarray], bool],
            project: Callable[[np.ndarray], np.ndarray] | None = None,
            alpha_on: slice = slice(None), check_objective: bool = False,
            progress=None) -> SquaremResult:
    r"""Accelerate the fixed-point iteration of an EM map with SQUAREM (scheme S3).

    Every cycle takes two EM steps :math:`\theta_1 = F(\theta)`, :math:`\theta_2 =
    F(\theta_1)`, stops if ``converged(ll(theta), ll(theta_1), theta_1, theta_2)``, else
    extrapolates with :func:`squarem_step`, maps the point back into the parameter space
    (``project``) and takes one EM step from there (the stabilising step; the next cycle
    starts from its result). The extrapolation is rejected -- the cycle ends at the plain
    iterate :math:`\theta_2` and the step bound shrinks fourfold -- when its EM residual is
    not finite or more than 10 times the plain one, or (``check_objective``) when the
    objective there is below the objective at :math:`\theta` (the global safeguard of
    Varadhan & Roland). The step bound starts at 1 and grows fourfold whenever ``alpha``
    reaches it. The fixed points are those of ``F``; the result depends only on the inputs.

    Parameters
    ----------
    step : callable
        ``theta -> (F(theta), objective at theta)``: one EM step.
    theta : ndarray
        The start.
    max_evals : int
        At most this many calls of ``step``.
    converged : callable
        ``(ll0, ll1, theta1, theta2) -> bool`` with ``ll0, ll1`` the objective at ``theta``
        and ``theta1``.
    project : callable, optional
        Back into the parameter space after an extrapolation.
    alpha_on : slice
        Coordinates on which the step length is measured.
    progress : tqdm or None
        Advanced by one per call of ``step``.

    References
    ----------
    R. Varadhan and C. Roland. Simple and globally convergent methods for accelerating the
    convergence of any EM algorithm. Scandinavian Journal of Statistics 35(2):335-353, 2008.
    """
    n = 0
    history: list[float] = []
    step_max = 1.0
    last = theta

    def call(th):
        nonlocal n, last
        n += 1
        last = th
        if progress is not None:
            progress.update(1)
        return step(th)

    while n + 2 <= max_evals:
        th1, ll0 = call(theta)
        th2, ll1 = call(th1)
        history += [ll0, ll1]
        if converged(ll0, ll1, th1, th2):
            return SquaremResult(th2, th1, n, True, history)
        th_x, alpha, r = squarem_step(theta, th1, th2, step_max, alpha_on)
        if alpha == step_max:
            step_max *= 4.0
        if alpha == 1.0 or n + 1 > max_evals:
            theta = th2
            continue
        if project is not None:
            th_x = project(th_x)
        th3, ll_x = call(th_x)
        res_x = th3 - th_x
        if (np.all(np.isfinite(th3)) and np.isfinite(ll_x) and _sq(res_x) <= 100.0 * _sq(r)
                and (not check_objective or ll_x >= ll0)):
            theta = th3
            history.append(ll_x)
        else:  # the extrapolation failed: keep the plain EM iterate, shorter steps
            theta = th2
            step_max = max(1.0, step_max / 4.0)
    return SquaremResult(theta, last, n, False, history)


# re-exported here (defined beside the block machinery)
from insights.reliability._blocks import ItemBlocks, em_pass  # noqa: E402
