"""BPO operations: calibration sessions, arbitration, systemic vs team-specific confusions,
onboarding ramp-up and the impact of policy changes (issue 15).

Modules, one per concern:

=====================  ==========================================================
``calibration``        sessions (gold ``source = calibration``): agreement with the
                       expert and with each other, disagreement, trends
``arbitration``        the arbitration queue, overturn rates, time to decision
``confusions``         systemic (policy) vs team-specific (knowledge gap) confusions
``onboarding``         learning curves, ramp-up fit, time to proficiency, new teams
                       behind the curve
``impact``             difference-in-differences before/after an event
``simulate``           simulated operations with all of the above planted, with truth
=====================  ==========================================================
"""

from __future__ import annotations

from insights.operations.arbitration import (
    arbitration_judgments,
    arbitration_queue,
    overturn_rates,
    time_to_decision,
)
from insights.operations.calibration import (
    calibration_judgments,
    calibration_scores,
    calibration_trend,
    disagreement_classes,
    disagreement_items,
    session_agreement,
)
from insights.operations.confusions import confusion_tests
from insights.operations.impact import impact_analysis
from insights.operations.onboarding import (
    behind_the_curve,
    learning_curves,
    onboarding_judgments,
    ramp_fits,
)
from insights.operations.simulate import simulate_operations

__all__ = [
    "arbitration_judgments",
    "arbitration_queue",
    "overturn_rates",
    "time_to_decision",
    "calibration_judgments",
    "calibration_scores",
    "calibration_trend",
    "disagreement_classes",
    "disagreement_items",
    "session_agreement",
    "confusion_tests",
    "impact_analysis",
    "behind_the_curve",
    "learning_curves",
    "onboarding_judgments",
    "ramp_fits",
    "simulate_operations",
]
