"""Report parameters: one validated model for defaults.yaml, the notebook and the CLI.

:class:`ReportParams` lists every parameter of a market report with its type, default and
constraint; unknown keys are errors that name the closest known key. ``params/defaults.yaml``
and ``params/<MARKET>.yaml`` hold overrides of these defaults (:func:`load_params`); the report
notebook's ``parameters`` cell has one assignment per field (papermill injects the values) and
rebuilds the model with :meth:`ReportParams.from_namespace`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["MARKET_NAME", "ParamsError", "ReportParams", "check_market", "load_params",
           "available_param_markets"]

#: What a market name may be: it becomes a file name and a link, so no separators, no ``..``,
#: no URL scheme (``javascript:``), no leading dot; letters, digits, ``_``, ``-``, ``.``.
MARKET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class ParamsError(ValueError):
    """A report parameter is unknown or invalid (the message names the file and the key)."""


def check_market(name: Any) -> str:
    """``name`` if it is a safe market name (:data:`MARKET_NAME`, no ``..``), else ParamsError."""
    text = str(name)
    if not MARKET_NAME.fullmatch(text) or ".." in text:
        raise ParamsError(
            f"market {text!r} is not a valid market name: expected 1-64 letters, digits, '_', "
            f"'-' or '.', starting with a letter or digit, without '..' (it becomes a file "
            f"name and a link)")
    return text


class ReportParams(BaseModel):
    """Every parameter of one market's report.

    Data
        ``data_source`` ("" or "simulated": the built-in simulated operation, generated once
        into ``<data_dir>/simulated/<scenario>-<seed>/``; otherwise a folder of
        labels/gold/annotators/items tables or a labels file, relative to the project root),
        ``columns`` (contract column -> the column's name in your files, e.g.
        ``{item_id: item, annotator_id: worker}``), ``repeats`` (what to do when an annotator
        judged an item more than once: ``keep`` them as independent judgments, keep the
        ``last`` or ``first``, or ``error``), ``encoding`` of CSV files, ``date_format`` of
        timestamps that are not ISO 8601 (``""``: ISO 8601 only), ``label_set`` (``[]``: the
        labels found in the data).
    Period
        ``since`` (inclusive) / ``until`` (exclusive) as ISO dates; empty: the last ``weeks``
        complete weeks of the data. Trends, gaps and the forecast look at ``trend_weeks`` weeks
        up to the period's end.
    Models and thresholds
        ``method`` (aggregation model), ``accuracy_target``, ``min_gold``, ``alpha`` and
        ``fdr_method`` (one false-discovery adjustment across every test of the run),
        ``gap_min_n``, ``horizon`` (forecast weeks).
    Costs
        ``cost_per_label`` (None: costs only from the data; no invented costs), ``currency``.
    Presentation and privacy
        ``n_examples``, ``n_review``, ``max_heatmaps``; ``pseudonymize`` (keyed pseudonyms for
        annotator ids, see :mod:`insights.privacy`), ``pseudonym_key_file`` ("": the default key
        file or the ``INSIGHTS_PSEUDONYM_KEY`` environment variable).
    Run
        ``market``, ``seed``, ``tables_dir`` (where the run writes the report's tables; set by
        the runner, "" in an analyst's session: not written).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    market: str = ""
    data_source: str = "simulated"
    scenario: str = "default"
    seed: int = 0
    data_dir: str = ""
    columns: dict[str, str] = Field(default_factory=dict)
    repeats: Literal["keep", "last", "first", "error"] = "keep"
    encoding: str = "utf-8"
    date_format: str = ""
    label_set: list[str] = Field(default_factory=list)
    since: str = ""
    until: str = ""
    weeks: int = Field(8, ge=1)
    trend_weeks: int = Field(12, ge=1)
    method: str = "auto"
    accuracy_target: float = Field(0.9, gt=0, lt=1)
    min_gold: int = Field(30, ge=1)
    alpha: float = Field(0.05, gt=0, lt=1)
    fdr_method: Literal["bh", "by"] = "bh"
    gap_min_n: float = Field(20.0, gt=0)
    horizon: int = Field(4, ge=0)
    cost_per_label: float | None = Field(None, ge=0, allow_inf_nan=False)
    currency: str = "USD"
    n_examples: int = Field(3, ge=0)
    n_review: int = Field(20, ge=0)
    max_heatmaps: int = Field(6, ge=0)
    pseudonymize: bool = True
    pseudonym_key_file: str = ""
    tables_dir: str = ""
    # --- BPO operations section (insights.report.sections.operations): the date and name of
    # a policy change whose impact the section measures ("": no impact analysis) ---
    ops_event: str = ""
    ops_event_name: str = ""
    # --- allocation section ------------------------------------------------------------
    allocation_policies: list[str] = Field(default_factory=lambda: [
        "agree:2:3", "margin:2:5", "posterior:0.99:1:5", "posterior:auto:1:5"])
    allocation_reference_k: int = Field(3, ge=1)
    allocation_seeds: int = Field(3, ge=1)
    allocation_redundancy: int = Field(3, ge=1)

    @field_validator("market")
    @classmethod
    def _market(cls, v: str) -> str:
        return check_market(v) if v else v

    @field_validator("since", "until", "ops_event", mode="before")
    @classmethod
    def _date_text(cls, v: Any) -> str:  # YAML turns 2026-03-02 into a date
        return "" if v is None else str(v)

    @field_validator("label_set")
    @classmethod
    def _strip_labels(cls, v: list[str]) -> list[str]:
        return [str(x).strip() for x in v]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, origin: str = "parameters"
                     ) -> ReportParams:
        """Validate ``values``; an unknown or invalid key is a :class:`ParamsError` naming
        ``origin``, the key and (for an unknown key) the closest known one."""
        fields = list(cls.model_fields)
        for key in values:
            if key not in cls.model_fields:
                near = difflib.get_close_matches(str(key), fields, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ParamsError(f"{origin}: unknown parameter {key!r}{hint} (known: "
                                  f"{', '.join(fields)})")
        try:
            return cls(**dict(values))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ParamsError(f"{origin}: parameter {key!r} has {err.get('input')!r}: "
                              f"{err['msg']}") from None

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> ReportParams:
        """The parameters found in a notebook's namespace (its ``parameters`` cell)."""
        return cls.from_mapping({k: namespace[k] for k in cls.model_fields if k in namespace},
                                origin="notebook parameters")

    def notebook_parameters(self) -> dict[str, Any]:
        """Every field as a plain value, for papermill to inject."""
        return self.model_dump(mode="json")

    def shown(self) -> dict[str, Any]:
        """The parameters shown in a report's provenance (no run-local paths)."""
        return {k: v for k, v in self.model_dump(mode="json").items()
                if k not in ("tables_dir", "data_dir", "pseudonym_key_file")}


def _read_yaml(path: Path) -> dict:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc})") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter: value, "
                          f"found {type(content).__name__}")
    return content


def available_param_markets(params_dir: str | Path = "params") -> list[str]:
    """Markets that have a ``params/<MARKET>.yaml`` (every YAML but ``defaults.yaml``)."""
    d = Path(params_dir)
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.yaml") if p.stem != "defaults")


def load_params(params_dir: str | Path | None, market: str, **overrides: Any) -> ReportParams:
    """``defaults.yaml`` merged with ``<market>.yaml`` (when present) and the non-None
    ``overrides``, validated: each file's keys are checked on their own so an error names the
    file."""
    check_market(market)
    merged: dict[str, Any] = {}
    if params_dir is not None:
        d = Path(params_dir)
        for path in (d / "defaults.yaml", d / f"{market}.yaml"):
            if path.exists():
                values = _read_yaml(path)
                ReportParams.from_mapping({**merged, **values}, origin=str(path))
                merged.update(values)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    merged["market"] = market
    return ReportParams.from_mapping(merged, origin="parameters")
