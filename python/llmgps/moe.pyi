from os import PathLike
from typing import Any, Sequence, Union

from . import Result

_Path = Union[str, PathLike]
_Model = Union[_Path, dict[str, Any]]

class Stats(Result): ...
class Prediction(Result): ...
class Plan(Result):
    phy2log: list[list[int]]
    log2phy: list[list[list[int]]]
    logcnt: list[list[int]]
    balancedness: float
class Advice(Result):
    recommended: str
    strategies: list[dict[str, Any]]
class Map(Result): ...

def stats(routing_trace: _Path | None = ..., batch_tokens: int = ..., experts: int = ...,
          transitions: bool = ..., stream: bool = ..., keep_warmup: bool = ...,
          trace: _Path | None = ...) -> Stats: ...
def predict(train: _Path | None = ..., test: _Path | None = ..., groups: _Path | None = ...,
            batch_tokens: int = ..., keep_warmup: bool = ...) -> Prediction: ...
def plan(loads: Any = ..., routing_trace: _Path | None = ..., gpus: int | None = ...,
         slots_per_gpu: int | None = ..., nodes: int = ..., groups: int = ..., algo: str = ...,
         max_copies: int = ..., keep_warmup: bool = ..., model: _Model | None = ...,
         trace: _Path | None = ...) -> Plan: ...
def advise(model: _Model, system: _Path, skew: float | None = ..., shares: _Path | None = ...,
           routing_trace: _Path | None = ..., train: _Path | None = ..., keep_warmup: bool = ...,
           link_gbps: float | None = ..., batch: int = ..., seq: int = ..., phase: str = ...,
           dtype: str = ..., layout: str = ..., algo: str = ..., error_model: str = ...,
           predictors: str = ..., points: _Path | None = ..., expert_time: str = ...,
           error_cap: Union[bool, str] = ..., slots_per_gpu: int = ..., replan_every: int = ...,
           replan_policy: str = ..., batch_tokens: int = ..., memory_fraction: float = ...,
           strict: bool = ..., trace: _Path | None = ..., cuda_graphs: bool = ...) -> Advice: ...
class AdviceSweep(Result): ...
def advise_sweep(model: _Model, system: _Path, phases: Sequence[str] | None = ...,
                 batches: Sequence[int] | None = ..., seqs: Sequence[int] | None = ...,
                 skew: float | None = ..., shares: _Path | None = ...,
                 routing_trace: _Path | None = ...,
                 train: _Path | None = ..., keep_warmup: bool = ...,
                 link_gbps: float | None = ..., phase: str = ..., batch: int = ..., seq: int = ...,
                 dtype: str = ..., layout: str = ..., algo: str = ..., error_model: str = ...,
                 predictors: str = ..., points: _Path | None = ..., expert_time: str = ...,
                 error_cap: Union[bool, str] = ..., slots_per_gpu: int = ...,
                 replan_every: int = ..., replan_policy: str = ..., batch_tokens: int = ...,
                 memory_fraction: float = ..., strict: bool = ..., trace: _Path | None = ...,
                 cuda_graphs: bool = ...) -> AdviceSweep: ...
def map(model: _Model, system: _Path, skews: Sequence[float], links: Sequence[float] | None = ...,
        batches: Sequence[float] | None = ..., svg: bool = ..., link_gbps: float | None = ...,
        seq: int = ..., phase: str = ..., dtype: str = ..., layout: str = ..., algo: str = ...,
        error_model: str = ..., predictors: str = ..., points: _Path | None = ...,
        expert_time: str = ..., error_cap: Union[bool, str] = ..., slots_per_gpu: int = ...,
        replan_every: int = ..., replan_policy: str = ..., batch_tokens: int = ...,
        memory_fraction: float = ..., cuda_graphs: bool = ...) -> Any: ...
