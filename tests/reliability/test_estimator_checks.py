"""scikit-learn's estimator checks that apply to transductive label aggregators.

The aggregators take a long labels table (``item_id``, ``annotator_id``, ``label``), not an
``(X, y)`` pair, and label the items they were fitted on (no ``predict`` on new rows), so the
checks that feed random ``X`` arrays to ``fit``/``predict`` do not apply. What applies, and is
run here for every estimator: construction (defaults, no work in ``__init__``, no attributes set
there), ``get_params``/``set_params``/``clone``/``repr``, parameter validation
(``check_param_validation``: every constraint in ``_parameter_constraints`` is exercised with
invalid values and must raise ``InvalidParameterError`` from ``fit``, before the data are
touched), and the tags. Skipped, and why:

* ``check_fit*``, ``check_estimators_dtypes``, ``check_estimators_nan_inf``,
  ``check_dtype_object``, ``check_fit2d_*``, ``check_n_features_in*``,
  ``check_estimators_pickle``, ``check_dont_overwrite_parameters``, ... -- they fit on random
  numeric ``X``/``y`` arrays, which is not this input;
* ``check_methods_subset_invariance``, ``check_fit_idempotent``,
  ``check_methods_sample_order_invariance`` -- they call ``predict`` on new rows; a
  transductive model has ``fit_predict`` only. Their substance (refitting gives the same
  numbers, the order of rows does not matter) is tested below on a labels table.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
)

from insights.confidence import HierarchicalDawidSkene
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

ESTIMATORS = [MajorityVote(), Wawa(), DawidSkene(), OneCoinDawidSkene(), GLAD(), MACE(),
              EBCC(), AutoAggregator(), HierarchicalDawidSkene()]
IDS = [type(e).__name__ for e in ESTIMATORS]

CHECKS = [check_parameters_default_constructible, check_no_attributes_set_in_init,
          check_get_params_invariance, check_set_params, check_estimator_cloneable,
          check_estimator_repr, check_do_not_raise_errors_in_init_or_set_params,
          check_param_validation]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_sklearn_checks(estimator, check):
    check(type(estimator).__name__, clone(estimator))


@pytest.fixture(scope="module")
def labels():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=60)
    rows = []
    for i, t in enumerate(truth):
        for a in rng.choice(8, size=4, replace=False):
            lab = t if rng.random() < 0.75 else rng.integers(0, 3)
            rows.append((f"i{i}", f"a{a}", f"c{lab}"))
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_transductive_contract(estimator, labels):
    est = clone(estimator)
    before = labels.copy()
    proba = est.fit_predict_proba(labels)
    pd.testing.assert_frame_equal(labels, before)  # the input is not modified
    assert not hasattr(est, "predict")
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # refitting gives the same numbers; so does a shuffled table (row order is not data)
    again = clone(estimator).fit_predict_proba(labels)
    pd.testing.assert_frame_equal(proba, again)
    shuffled = labels.sample(frac=1.0, random_state=1)
    other = clone(estimator).fit_predict_proba(shuffled).loc[proba.index]
    if isinstance(estimator, EBCC | HierarchicalDawidSkene | AutoAggregator):
        # seeded random draws (EBCC's sub-type splits, the hierarchical model's posterior
        # draws) follow the items' code order, which is first appearance: a shuffled table
        # is another draw of the same fit. Monte-Carlo noise of 200 draws / VB restarts
        # moves a posterior by a few hundredths, not the labels.
        assert (other.idxmax(axis=1) == proba.idxmax(axis=1)).mean() >= 0.95
        np.testing.assert_allclose(other.to_numpy(), proba.to_numpy(), atol=0.1)
    else:
        np.testing.assert_allclose(other.to_numpy(), proba.to_numpy(), atol=1e-6)
    assert clone(estimator).fit_predict(labels).equals(est.labels_)
    pickle.loads(pickle.dumps(est))  # fitted estimators pickle


@pytest.mark.parametrize("estimator, params, match", [
    (DawidSkene(), {"max_iter": 0}, "max_iter"),
    (GLAD(), {"max_iter": -3}, "max_iter"),
    (MACE(), {"theta_prior": (-1, 2)}, "theta_prior"),
    (MACE(), {"strategy_prior": 0.0}, "strategy_prior"),
    (DawidSkene(), {"alpha": -0.1}, "alpha"),
    (OneCoinDawidSkene(), {"prior_counts": -1}, "prior_counts"),
    (MajorityVote(), {"tie_break": "last"}, "tie_break"),
    (EBCC(), {"n_subtypes": 0}, "n_subtypes"),
    (HierarchicalDawidSkene(), {"inference": "mcmc"}, "inference"),
])
def test_bad_parameters_raise_naming_them(estimator, params, match, labels):
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        clone(estimator).set_params(**params).fit(labels)


def test_extra_fit_arguments_are_keyword_only(labels):
    with pytest.raises(TypeError):
        DawidSkene().fit(labels, None, ["c0", "c1", "c2"])
    m = DawidSkene().fit(labels, None, classes=["c2", "c1", "c0"])
    assert list(m.classes_) == ["c2", "c1", "c0"]


def test_random_seed_is_a_deprecated_alias_of_random_state(labels):
    new = HierarchicalDawidSkene(random_state=3, n_posterior_draws=20).fit(labels)
    with pytest.warns(DeprecationWarning, match="random_state"):
        old = HierarchicalDawidSkene(random_seed=3, n_posterior_draws=20).fit(labels)
    pd.testing.assert_frame_equal(new.confidence_, old.confidence_)
