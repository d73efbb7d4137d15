"""What a job costs: Ground Truth's per-object fee plus what workers are paid.

A human label costs the per-object fee plus workers x worker price; a machine
label only the per-object fee.  ``CostModel()`` reproduces the public box
tutorial ($0.08 + 5 x $0.036 = $0.26 per human label, $0.08 per machine
label); ``CostModel.for_task`` prices another task at its own cheapest
Mechanical Turk price (segmentation: $0.84 a task, nothing lower is allowed)
and its usual workers per object.  The fee tiers past 50,000 objects a month
are not modelled: they are unverified.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from . import arns
from .iterations import IterationCounts

CENT = Decimal("0.01")
PER_OBJECT_FEE = Decimal("0.08")
# Workers per object when none is given: the box tutorial's 5; 3 for segmentation (the notebooks' default: a
# consolidated map needs more than one worker to carry a confidence); 1 to correct a pre-label (adjustment jobs).
DEFAULT_WORKERS = {"bounding_box": 5, "semantic_segmentation": 3, "adjustment_semantic_segmentation": 1}


@dataclass(frozen=True)
class CostModel:
    per_object_fee: Decimal = PER_OBJECT_FEE
    workers_per_object: int = 5
    worker_price: Decimal = Decimal("0.036")

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_object_fee", Decimal(str(self.per_object_fee)))
        object.__setattr__(self, "worker_price", Decimal(str(self.worker_price)))
        if self.per_object_fee < 0 or self.worker_price < 0 or self.workers_per_object < 1:
            raise ValueError("fees and prices must be non-negative and workers_per_object at least 1")

    @classmethod
    def for_task(
        cls,
        task: str,
        per_object_fee: Decimal | str | None = None,
        workers_per_object: int | None = None,
        worker_price: Decimal | str | None = None,
    ) -> "CostModel":
        """The task's own defaults (lowest allowed price, usual workers) for whatever is not given."""
        prices = arns.task_type(task).prices_usd
        return cls(
            PER_OBJECT_FEE if per_object_fee is None else Decimal(str(per_object_fee)),
            DEFAULT_WORKERS[task] if workers_per_object is None else workers_per_object,
            Decimal(min(prices, key=Decimal)) if worker_price is None else Decimal(str(worker_price)),
        )

    @property
    def human_price(self) -> Decimal:
        return self.per_object_fee + self.workers_per_object * self.worker_price

    @property
    def machine_price(self) -> Decimal:
        return self.per_object_fee

    def human_cost(self, objects: int) -> Decimal:
        return objects * self.human_price

    def machine_cost(self, objects: int) -> Decimal:
        return objects * self.machine_price


@dataclass(frozen=True)
class CostSummary:
    human_objects: int
    machine_objects: int
    human_cost: Decimal
    machine_cost: Decimal
    all_human_cost: Decimal

    @property
    def total_cost(self) -> Decimal:
        return self.human_cost + self.machine_cost

    @property
    def saving_percent(self) -> float:
        """How much cheaper than labeling everything by hand."""
        if not self.all_human_cost:
            return 0.0
        return float((1 - self.total_cost / self.all_human_cost) * 100)


def summarize(human_objects: int, machine_objects: int, model: CostModel = CostModel()) -> CostSummary:
    return CostSummary(
        human_objects,
        machine_objects,
        model.human_cost(human_objects),
        model.machine_cost(machine_objects),
        model.human_cost(human_objects + machine_objects),
    )


def summarize_iterations(iterations: Iterable[IterationCounts], model: CostModel = CostModel()) -> CostSummary:
    items = list(iterations)
    return summarize(sum(i.human_objects for i in items), sum(i.machine_objects for i in items), model)


def job_prices(
    task: str | None,
    per_object_fee: Decimal | str | None = None,
    workers_per_object: int | None = None,
    worker_price: Decimal | str | None = None,
) -> CostModel:
    """A job's prices: its task's own list; a job with no labels yet, or a task without a list, the box tutorial's."""
    known = task if task in arns.TASK_TYPES else "bounding_box"
    return CostModel.for_task(known, per_object_fee, workers_per_object, worker_price)
