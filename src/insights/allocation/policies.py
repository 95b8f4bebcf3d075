r"""Redundancy policies: decide, judgment by judgment, whether an item needs another one.

A policy reads an item's judgments one at a time (in the order of a stream, see
:mod:`insights.allocation.replay`) and after each says "enough" or "one more". All policies
here are vectorised over items: the replay engine feeds round ``r`` (every item's ``r``-th
judgment) to all items still asking, so a policy is a rule on per-item state (vote counts,
log-posterior, judgments used).

=============  =======================================================  ===============
spec           rule                                                     final label
=============  =======================================================  ===============
``fixed:k``    exactly ``k`` judgments                                  Dawid-Skene
``agree:m:n``  stop when one label has ``m`` votes, at most ``n``       majority
               (``agree:2:3`` is two-agree-else-a-third)
``margin:d:n`` stop when top minus runner-up votes reaches ``d``,       majority
               at most ``n`` (Delta-margin voting)
``posterior:t:m:n``  stop when the posterior of the top class reaches   posterior
               ``t`` after at least ``m``, at most ``n`` judgments;
               posterior from annotator skills (Dawid-Skene confusion
               matrices, or one-coin accuracies), see ``skills``
``assisted:t:m:n``   as ``posterior`` with a classifier's prediction as the  posterior
               item prior (``item_priors``)
``kg:b``       optimistic knowledge gradient: a total budget of ``b``   majority
               judgments per item on average, spent one round at a time
               on the items whose next label can change their decision
               most (Chen, Lin & Zhou 2013)
=============  =======================================================  ===============

Each spec takes its arguments positionally or as ``key=value`` after the name, separated by
``:``: ``posterior:0.99:1:10``, ``posterior:threshold=0.995:model=onecoin``,
``fixed:5:aggregate=mv``. ``aggregate`` (``ds``, ``mv`` or ``posterior``) overrides the final
label; ``skills`` (``crossfit`` -- the default --, ``crossfit-gold``, ``given`` or ``full``)
says where a posterior policy's annotator skills come from (see
:func:`insights.allocation.replay.replay`).

References
----------
Chen, X., Lin, Q. and Zhou, D. (2013). Optimistic knowledge gradient policy for optimal budget
allocation in crowdsourcing. ICML 2013, PMLR 28(3), 64-72.
Dawid, A. P. and Skene, A. M. (1979). Applied Statistics 28(1), 20-28.
Ipeirotis, P. G., Provost, F., Sheng, V. S. and Wang, J. (2014). Repeated labeling using
multiple noisy labelers. Data Mining and Knowledge Discovery 28, 402-441.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.special import betainc

__all__ = ["Policy", "Fixed", "Agree", "Margin", "Posterior", "Assisted", "KnowledgeGradient",
           "parse_policy", "POLICIES", "AUTO_GRID"]

AGGREGATES = ("ds", "mv", "posterior")
#: Thresholds tried by ``threshold="auto"``, lowest (cheapest) first.
#: 31 values from 0.68 to 0.9997, evenly spaced in log(1 - threshold).
AUTO_GRID = tuple(float(t) for t in 1.0 - np.logspace(-0.5, -3.5, 31))
SKILLS = ("crossfit", "crossfit-gold", "given", "full")


@dataclass(frozen=True)
class Policy:
    """Base class: a redundancy rule over per-item state.

    Subclasses set :attr:`kind` and implement :meth:`want_more`. ``aggregate`` chooses the
    final label: ``ds`` (Dawid-Skene fitted on the judgments the policy used, no gold),
    ``mv`` (majority vote, ties broken at random with the replay seed) or ``posterior``
    (argmax of the policy's own posterior).
    """

    kind = "policy"
    core = 1             # leading parameters always written positionally in ``spec``
    aggregate: str = "mv"

    @property
    def max_reads(self) -> int:
        """Most judgments the policy can read of one item."""
        raise NotImplementedError  # pragma: no cover

    @property
    def needs_skills(self) -> bool:
        return False

    def want_more(self, used: np.ndarray, counts: np.ndarray, log_post: np.ndarray | None
                  ) -> np.ndarray:
        """Mask of items that ask for another judgment.

        Parameters
        ----------
        used : int array (n,)
            Judgments read so far.
        counts : array (n, K)
            Vote counts.
        log_post : array (n, K) or None
            Unnormalised log-posterior under the policy's skills (posterior policies).
        """
        raise NotImplementedError  # pragma: no cover

    @property
    def spec(self) -> str:
        """The canonical spec string (round-trips through :func:`parse_policy`): the leading
        parameters positionally, then ``key=value`` for the others that differ from their
        defaults (``posterior:auto:1:10:budget=3.0``)."""
        order = _order(type(self))
        defaults = {f.name: f.default for f in fields(self)}
        parts = [self.kind] + [str(getattr(self, n)) for n in order[:self.core]]
        parts += [f"{n}={getattr(self, n)}" for n in order[self.core:]
                  if getattr(self, n) != defaults[n]]
        return ":".join(parts)

    def _check(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"policy {self.kind}: aggregate must be one of {AGGREGATES}, got "
                             f"{self.aggregate!r}")


@dataclass(frozen=True)
class Fixed(Policy):
    """Exactly ``k`` judgments per item (fewer where the stream has fewer)."""

    kind = "fixed"
    k: int = 5
    aggregate: str = "ds"

    @property
    def max_reads(self) -> int:
        return self.k

    def want_more(self, used, counts, log_post):
        return used < self.k


@dataclass(frozen=True)
class Agree(Policy):
    """Stop as soon as one label has ``m`` votes; never read more than ``n``.

    ``agree:2:3`` is the classic two-agree-else-a-third rule."""

    kind = "agree"
    core = 2
    m: int = 2
    n: int = 3
    aggregate: str = "mv"

    @property
    def max_reads(self) -> int:
        return self.n

    def want_more(self, used, counts, log_post):
        return (counts.max(axis=1) < self.m) & (used < self.n)


@dataclass(frozen=True)
class Margin(Policy):
    """Delta-margin voting: stop when the leading label is ``d`` votes ahead of the runner-up
    (at most ``n`` judgments)."""

    kind = "margin"
    core = 2
    d: int = 2
    n: int = 7
    aggregate: str = "mv"

    @property
    def max_reads(self) -> int:
        return self.n

    def want_more(self, used, counts, log_post):
        top2 = np.sort(counts, axis=1)[:, -2:] if counts.shape[1] > 1 else \
            np.concatenate([np.zeros_like(counts), counts], axis=1)
        return (top2[:, 1] - top2[:, 0] < self.d) & (used < self.n)


@dataclass(frozen=True)
class Posterior(Policy):
    r"""Posterior-threshold dynamic overlap.

    With annotator confusion matrices :math:`\pi_j` and class prior :math:`\rho` (the skills),
    the posterior of item :math:`i` after judgments :math:`y_{i1..r}` is

    .. math:: P(z_i = k \mid y) \propto \rho_k \prod_{s \le r} \pi_{j_s}[k, y_{is}],

    and the item asks for another judgment while :math:`\max_k P(z_i = k \mid y) <` ``threshold``
    (and it has fewer than ``n``), or while it has fewer than ``m``. ``model`` chooses the
    skills' parametrisation: ``ds`` (full confusion matrices) or ``onecoin`` (one accuracy).
    """

    kind = "posterior"
    core = 3
    threshold: float | str = 0.99
    m: int = 1
    n: int = 10
    model: str = "ds"
    skills: str = "crossfit"
    cushion: float = 0.5
    budget: float = 0.0
    aggregate: str = "posterior"

    @property
    def max_reads(self) -> int:
        return self.n

    @property
    def needs_skills(self) -> bool:
        return True

    def _check(self) -> None:
        super()._check()
        if self.threshold != "auto" and not 0.5 <= self.threshold < 1.0:
            raise ValueError(f"policy {self.kind}: threshold must be in [0.5, 1), got "
                             f"{self.threshold}")
        if self.model not in ("ds", "onecoin"):
            raise ValueError(f"policy {self.kind}: model must be ds or onecoin, got "
                             f"{self.model!r}")
        if self.skills not in SKILLS:
            raise ValueError(f"policy {self.kind}: skills must be one of {SKILLS}, got "
                             f"{self.skills!r}")

    def want_more(self, used, counts, log_post):
        lp = log_post - log_post.max(axis=1, keepdims=True)
        p = np.exp(lp)
        top = 1.0 / p.sum(axis=1)            # the top class's normalised posterior
        return (used < self.m) | ((top < self.threshold) & (used < self.n))


@dataclass(frozen=True)
class Assisted(Posterior):
    """:class:`Posterior` whose item prior is a classifier's predicted class probabilities
    (``item_priors`` of the replay) instead of the class prior."""

    kind = "assisted"
    m: int = 0


@dataclass(frozen=True)
class KnowledgeGradient(Policy):
    r"""Optimistic knowledge gradient (Chen, Lin & Zhou 2013) under a total budget.

    Each item has a Beta posterior :math:`\mathrm{Beta}(a_i, b_i)` on the probability that a
    judgment says the positive class (``a = 1 +`` votes for it, ``b = 1 +`` the others; with
    more than two classes, the current leading class against the rest). The value of
    stopping is :math:`h(a, b) = \max(I, 1 - I)` with :math:`I = P(\theta < 1/2)`, and the
    optimistic knowledge gradient of one more judgment is
    :math:`\max(h(a+1, b), h(a, b+1)) - h(a, b)`. The budget (``b`` judgments per item on
    average) is spent in rounds of ``batch`` share of the items (the items with the largest
    gradient), an approximation of the one-at-a-time rule of the paper that changes little
    because most gradients tie.
    """

    kind = "kg"
    b: float = 3.0
    n: int = 20
    batch: float = 0.02
    aggregate: str = "mv"

    @property
    def max_reads(self) -> int:
        return self.n

    def want_more(self, used, counts, log_post):  # pragma: no cover - budgeted, see gain()
        raise TypeError("the knowledge-gradient policy is budgeted: it is run by the replay "
                        "engine's budget loop, not item by item")

    @staticmethod
    def gain(counts: np.ndarray) -> np.ndarray:
        """Optimistic knowledge gradient of one more judgment per item."""
        top = counts.max(axis=1)
        a = 1.0 + top
        b = 1.0 + counts.sum(axis=1) - top

        def h(a_, b_):
            i = betainc(a_, b_, 0.5)
            return np.maximum(i, 1.0 - i)

        base = h(a, b)
        return np.maximum(h(a + 1, b), h(a, b + 1)) - base


POLICIES: dict[str, type[Policy]] = {
    cls.kind: cls for cls in (Fixed, Agree, Margin, Posterior, Assisted, KnowledgeGradient)}


def _order(cls) -> list[str]:
    """Positional order of a policy's arguments: its own parameters, then ``aggregate``."""
    return [f.name for f in fields(cls) if f.name != "aggregate"] + ["aggregate"]


def _coerce(value: str, like):
    if isinstance(like, bool):
        return value.lower() in ("1", "true", "yes")
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    return value


def parse_policy(spec: str | Policy) -> Policy:
    """A policy from its spec (``name:arg:...`` with positional or ``key=value`` arguments).

    Raises
    ------
    ValueError
        Naming the bad part and what was expected.
    """
    if isinstance(spec, Policy):
        spec._check()
        return spec
    parts = [p.strip() for p in str(spec).split(":") if p.strip()]
    if not parts or parts[0] not in POLICIES:
        raise ValueError(f"policy {spec!r}: unknown name {parts[0] if parts else ''!r}; "
                         f"expected one of {sorted(POLICIES)}")
    cls = POLICIES[parts[0]]
    own = _order(cls)
    defaults = {f.name: f.default for f in fields(cls)}
    kw: dict = {}
    for pos, tok in enumerate(parts[1:]):
        if "=" in tok:
            key, val = tok.split("=", 1)
        elif pos < len(own):
            key, val = own[pos], tok
        else:
            raise ValueError(f"policy {spec!r}: too many arguments; {parts[0]} takes {own}")
        if key not in defaults:
            raise ValueError(f"policy {spec!r}: unknown argument {key!r}; {parts[0]} takes "
                             f"{own}")
        try:
            kw[key] = val if (key == "threshold" and val == "auto") else \
                _coerce(val, defaults[key])
        except ValueError:
            raise ValueError(f"policy {spec!r}: argument {key}={val!r} is not a "
                             f"{type(defaults[key]).__name__}") from None
    pol = cls(**kw)
    pol._check()
    return pol

