"""Scenario files: one YAML file is one plan.

A scenario is validated once, when it is loaded, and is immutable afterwards. Every key is
documented in ``docs/scenarios.md``. Unknown keys are rejected by name, and every error
names the file, the key path and the fix.
"""

from __future__ import annotations

import datetime as dt
import difflib
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from solver.errors import InputError
from solver.sections import (
    Disruption,
    Geography,
    Lock,
    Protect,
    Strict,
)

#: Built-in metric: every account counts 1. It needs no column.
ACCOUNT_COUNT = "accounts"

_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*$"


# Every section rejects unknown keys and is immutable (see solver/sections.py).
_Strict = Strict


class AccountColumns(_Strict):
    """Column names of the accounts table, mapped to what the engine needs."""

    id: str
    latitude: str | None = None
    longitude: str | None = None
    county_fips: str | None = None
    zip: str | None = None
    name: str | None = None
    metrics: dict[str, str] = Field(default_factory=dict)
    keep: list[str] = Field(default_factory=list)
    # The rep id that owns each account today: the plan limits and explains moves from it.
    current_owner: str | None = None
    # The account id of each account's parent, for keeping families together.
    parent_id: str | None = None
    # The rep id each account is pinned to.
    locked_to: str | None = None
    # The id of each account's geographic unit in a user's unit file.
    unit: str | None = None

    @model_validator(mode="after")
    def _one_location(self) -> AccountColumns:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("set both 'latitude' and 'longitude', or neither")
        if self.latitude is None and self.county_fips is None and self.zip is None:
            raise ValueError(
                "no location column: set 'latitude' and 'longitude', 'county_fips' or 'zip'"
            )
        return self


class AccountsInput(_Strict):
    """The accounts table: a CSV, Parquet or Excel file."""

    path: Path
    sheet: str | None = None
    columns: AccountColumns


class RepColumns(_Strict):
    """Column names of the reps and hiring-plan table."""

    id: str = "rep_id"
    role: str = "role"
    start_date: str = "start_date"
    end_date: str | None = None
    name: str | None = None
    ramp_profile: str | None = None
    max_accounts: str | None = None
    home_latitude: str | None = None
    home_longitude: str | None = None
    home_zip: str | None = None
    home_county_fips: str | None = None

    @model_validator(mode="after")
    def _home_pair(self) -> RepColumns:
        if (self.home_latitude is None) != (self.home_longitude is None):
            raise ValueError("set both 'home_latitude' and 'home_longitude', or neither")
        return self


class RepsInput(_Strict):
    """The reps and hiring-plan table: current reps and planned hires."""

    path: Path
    sheet: str | None = None
    columns: RepColumns = Field(default_factory=RepColumns)


class Inputs(_Strict):
    """The input tables of a scenario."""

    accounts: AccountsInput
    reps: RepsInput


class AccountFilter(_Strict):
    """The accounts a role covers: those whose ``column`` contains one of ``values``."""

    column: str
    values: list[str | int | float | bool] = Field(min_length=1)


class Capacity(_Strict):
    """Capacity of one fully ramped rep; a rep at ramp r carries r times this."""

    max_accounts: int | None = Field(default=None, gt=0)
    metrics: dict[str, float] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for metric, amount in value.items():
            if not amount > 0:
                raise ValueError(f"capacity for metric '{metric}' must be > 0, got {amount}")
        return value


class BalanceGoal(_Strict):
    """Keep every territory's total of ``metric`` within +/- ``tolerance`` of its target."""

    metric: str
    tolerance: float = Field(gt=0, lt=1)


class ViabilityMinimum(_Strict):
    """Minimum of ``metric`` that every territory must contain."""

    metric: str
    minimum: float = Field(ge=0)


class Role(_Strict):
    """A role or segment: which accounts it covers, how reps ramp, and its goals."""

    label: str | None = None
    accounts: AccountFilter | None = None
    ramp: list[float] = Field(min_length=1)
    capacity: Capacity = Field(default_factory=Capacity)
    balance: list[BalanceGoal] = Field(default_factory=list)
    viability: list[ViabilityMinimum] = Field(default_factory=list)
    account_weight: str = ACCOUNT_COUNT
    centres: Literal["auto", "rep_home", "model"] = "auto"
    exclude: AccountFilter | None = None
    keep_families: bool = False
    continuity_weight: str = ACCOUNT_COUNT
    disruption: Disruption | None = None
    protect: Protect | None = None
    geography: Geography | None = None

    @field_validator("ramp")
    @classmethod
    def _ramp_in_unit_interval(cls, value: list[float]) -> list[float]:
        return _check_ramp(value)


class Objective(_Strict):
    """Weights of the objective terms."""

    compactness: float = Field(default=1.0, ge=0)
    # Moving an account of average continuity weight away from its current owner costs as
    # much as taking it this many km further from its territory centre.
    continuity_km: float = Field(default=0.0, ge=0)


class SolverSettings(_Strict):
    """Solver settings: backend, time limit, seed, threads and stopping gap."""

    backend: Literal["auto", "highs", "cbc", "ortools", "scalable"] = "auto"
    time_limit_s: float = Field(default=60.0, gt=0)
    seed: int = Field(default=0, ge=0)
    threads: int = Field(default=1, ge=1)
    mip_gap: float = Field(default=1e-4, ge=0, lt=1)
    centre_iterations: int = Field(default=6, ge=1)


class Horizon(_Strict):
    """The planning horizon: first and last day, and the length of one period."""

    start: dt.date
    end: dt.date
    period: Literal["month", "quarter"] = "month"

    @model_validator(mode="after")
    def _end_after_start(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(
                f"horizon end {self.end.isoformat()} is before its start {self.start.isoformat()}"
            )
        return self


class MoveOrder(_Strict):
    """One sort key of the order in which a new rep's accounts move to them."""

    column: str
    ascending: bool = True


class Prebuilt(_Strict):
    """Settings of the pre-built policy."""

    target_date: dt.date | None = None
    interim_owner: str = "nearest"
    phases: list[float] | None = None
    move_order: list[MoveOrder] = Field(default_factory=list)

    @field_validator("phases")
    @classmethod
    def _phases_rise_to_one(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return value
        if not value or any(b < a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError("phases must be a non-empty list of rising shares")
        if value[0] <= 0 or value[-1] != 1.0:
            raise ValueError("phases must start above 0 and end at 1.0")
        _check_ramp(value)
        return value


class JustInTime(_Strict):
    """Settings of the just-in-time policy."""

    move_cost_km: float = Field(default=100.0, ge=0)
    move_budget: int | None = Field(default=None, ge=0)


class CrmAccountColumns(_Strict):
    """Columns of the accounts table that hold each account's id in a CRM."""

    salesforce_id: str | None = None
    hubspot_id: str | None = None
    domain: str | None = None
    dynamics_id: str | None = None


class CrmRepColumns(_Strict):
    """Columns of the reps table that hold each rep's CRM user."""

    email: str | None = None
    salesforce_user_id: str | None = None


class SalesforceExport(_Strict):
    """Settings of the Salesforce Enterprise Territory Management load files."""

    model_name: str | None = None
    model_developer_name: str | None = None
    hierarchy: Literal["role_region", "role", "none"] = "role_region"
    account_access: Literal["Read", "Edit", "All"] = "Edit"
    opportunity_access: Literal["None", "Read", "Edit"] = "Read"
    case_access: Literal["None", "Read", "Edit"] = "Read"
    contact_access: Literal["None", "Read", "Edit"] = "Read"
    role_in_territory: str = "Owner"
    territory_limit: int = Field(default=1000, ge=1)


class Export(_Strict):
    """Settings of `territory export`: the sources of CRM ids and the shape of load files."""

    ids_file: Path | None = None
    accounts: CrmAccountColumns = Field(default_factory=CrmAccountColumns)
    reps: CrmRepColumns = Field(default_factory=CrmRepColumns)
    salesforce: SalesforceExport = Field(default_factory=SalesforceExport)
    excel_bom: bool = False


class Scenario(_Strict):
    """One plan: inputs, roles with their goals, objective weights and solver settings."""

    name: str = Field(pattern=_NAME_PATTERN)
    description: str = ""
    design_date: dt.date
    inputs: Inputs
    ramp_profiles: dict[str, list[float]] = Field(default_factory=dict)
    roles: dict[str, Role] = Field(min_length=1)
    objective: Objective = Field(default_factory=Objective)
    solver: SolverSettings = Field(default_factory=SolverSettings)
    horizon: Horizon | None = None
    policy: Literal["prebuilt", "just_in_time"] = "prebuilt"
    prebuilt: Prebuilt = Field(default_factory=Prebuilt)
    just_in_time: JustInTime = Field(default_factory=JustInTime)
    export: Export = Field(default_factory=Export)
    locks: list[Lock] = Field(default_factory=list)
    # Write map.png and map.html (and moves.png with today's owners) next to the plan.
    maps: bool = True
    source: Path = Field(default=Path("scenario.yaml"), exclude=True)

    @field_validator("ramp_profiles")
    @classmethod
    def _profiles_in_unit_interval(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name, curve in value.items():
            if not curve:
                raise ValueError(f"ramp profile '{name}' needs at least one value")
            try:
                _check_ramp(curve)
            except ValueError as exc:
                raise ValueError(f"ramp profile '{name}': {exc}") from None
        return value

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[str, Role]) -> dict[str, Role]:
        import re

        for name in value:
            if not re.fullmatch(_NAME_PATTERN, name):
                raise ValueError(
                    f"role name '{name}' must start with a letter and use only letters, "
                    "digits, '_', '.' or '-'"
                )
        return value

    @property
    def metric_names(self) -> list[str]:
        """Metrics the scenario can use: the built-in account count and the mapped columns."""
        return [ACCOUNT_COUNT, *self.inputs.accounts.columns.metrics]

    def resolve(self, path: Path) -> Path:
        """Return ``path`` resolved against the scenario file's folder."""
        return path if path.is_absolute() else (self.source.parent / path)

    def ramp_curve(self, role: str, profile: str | None) -> list[float]:
        """Return the ramp curve of a rep: its named profile, else its role's curve."""
        if profile:
            return self.ramp_profiles[profile]
        return self.roles[role].ramp


def _check_ramp(curve: list[float]) -> list[float]:
    for month, share in enumerate(curve, start=1):
        if not 0.0 <= share <= 1.0:
            raise ValueError(
                f"ramp value for month {month} must be within [0, 1] "
                f"(share of full productivity), got {share}"
            )
    return curve


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and return the scenario in ``path``.

    Raises :class:`InputError` naming the file, the key path and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: scenario file not found. Fix: pass the path of a YAML file, "
            "for example scenarios/us_default.yaml."
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not UTF-8 text. Fix: save the file as UTF-8.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise InputError(
            f"{path.name}{where}: invalid YAML ({getattr(exc, 'problem', exc)}). "
            "Fix: check the indentation and quoting on that line."
        ) from None
    except ValueError as exc:
        # PyYAML reads an unquoted 2027-13-45 as a date and fails in datetime.date.
        raise InputError(
            f"{path.name}: invalid date ({exc}). Fix: write dates as YYYY-MM-DD with a real "
            "month and day, for example design_date: 2027-02-01."
        ) from None
    if not isinstance(raw, dict):
        raise InputError(
            f"{path.name}: expected a mapping of keys (name, design_date, inputs, roles, ...), "
            f"got {type(raw).__name__}. Fix: see docs/scenarios.md for the layout."
        )

    try:
        scenario = Scenario.model_validate({**raw, "source": path})
    except ValidationError as exc:
        raise InputError(_format_validation_error(path, exc)) from None

    _check_references(scenario)
    return scenario


def _check_references(scenario: Scenario) -> None:
    """Check that every metric a role names is mapped (ramp profiles are checked with the reps)."""
    file = scenario.source.name
    known = scenario.metric_names
    for role_name, role in scenario.roles.items():
        uses = [("account_weight", role.account_weight)]
        uses += [(f"balance.{i}.metric", goal.metric) for i, goal in enumerate(role.balance)]
        uses += [(f"viability.{i}.metric", m.metric) for i, m in enumerate(role.viability)]
        uses += [(f"capacity.metrics.{metric}", metric) for metric in role.capacity.metrics]
        uses += [("continuity_weight", role.continuity_weight)]
        if role.protect is not None:
            uses += [("protect.metric", role.protect.metric)]
        if role.disruption is not None:
            shares = role.disruption.max_share_moved
            uses += [(f"disruption.max_share_moved.{m}", m) for m in shares]
            lost = role.disruption.per_territory.max_share_lost
            uses += [(f"disruption.per_territory.max_share_lost.{m}", m) for m in lost]
        for key, metric in uses:
            if metric not in known:
                raise InputError(
                    f"{file}, key 'roles.{role_name}.{key}': unknown metric '{metric}'. "
                    f"Fix: use one of {', '.join(known)}, or map a column to it under "
                    "inputs.accounts.columns.metrics."
                )

        metrics = [goal.metric for goal in role.balance]
        repeated = sorted({m for m in metrics if metrics.count(m) > 1})
        if repeated:
            raise InputError(
                f"{file}, key 'roles.{role_name}.balance': metric '{repeated[0]}' has two "
                "balance goals. Fix: keep one goal per metric."
            )


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = []
    # An unknown key is usually a misspelt one, so it is reported before the key it hides,
    # and the "missing" error of the key it was meant to be is dropped.
    errors = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")
    meant = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            parent = error["loc"][:-1]
            typo = str(error["loc"][-1])
            for meant_key in difflib.get_close_matches(typo, _allowed_keys(parent), n=1):
                meant.add((*parent, meant_key))
    errors = [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in meant)]
    for error in errors:
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(error["loc"][:-1])
            guess = difflib.get_close_matches(loc[-1], allowed, n=1)
            hint = f"did you mean '{guess[0]}'? Allowed" if guess else "allowed"
            lines.append(
                f"{path.name}, key '{key}': unknown key '{loc[-1]}'. Fix: {hint} "
                f"keys here are {', '.join(allowed)}."
            )
        elif error["type"] == "missing":
            lines.append(f"{path.name}, key '{key}': required key is missing. Fix: add it.")
        else:
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            fix = "correct the value; see docs/scenarios.md"
            if error["type"].startswith("date"):
                fix = "write the date as YYYY-MM-DD, for example 2027-02-01"
            lines.append(f"{path.name}, key '{key}': {message}{shown}. Fix: {fix}.")
    return "\n".join(lines)


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Return the keys a scenario accepts at ``loc``, following the model's field types."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            # A free-form mapping such as ``roles``: the part is a user's name, skip into values.
            continue
        model = _model_in(field.annotation)
    if model is None or not hasattr(model, "model_fields"):
        return []
    return [name for name in model.model_fields if name != "source"]


def _model_in(annotation: Any) -> Any:
    """Return the pydantic model inside an annotation such as ``dict[str, Role]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(typing.get_args(annotation)):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
