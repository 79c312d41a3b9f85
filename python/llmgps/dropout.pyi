from os import PathLike
from typing import Any, Sequence, Union

import numpy as np

from . import Result

_Path = Union[str, PathLike]
_Model = Union[_Path, dict[str, Any]]

class Mask(Result):
    words: np.ndarray
    keep_fraction: float
class Block(Result):
    speedup_vs_sequential: float
    speedup_vs_fused: float
class Sweep(Result): ...

def philox(count: int = ..., key: Sequence[int] = ..., counter: Sequence[int] = ...,
           rounds: int = ...) -> np.ndarray: ...
def mask(seed: int, batch: int, heads: int, seq: int, p: float = ..., seq_k: int | None = ...,
         offset: int = ..., bits: int = ..., rounds: int = ..., threads: int = ...) -> Mask: ...
def block(model: _Model, hw: _Path, batch: int = ..., seq: int = ..., dtype: str = ...,
          scope: str = ..., impl: str | None = ..., p: float = ..., bits: int = ...,
          rounds: int = ..., what_ifs: Sequence[str] = ...) -> Block: ...
def sweep(model: _Model, hw: _Path, seqs: Sequence[int] = ..., batches: Sequence[int] = ...,
          dtype: str = ..., scope: str = ..., impl: str | None = ..., p: float = ...,
          bits: int = ..., rounds: int = ..., what_ifs: Sequence[str] = ...,
          models: Sequence[_Path] | None = ..., dtypes: Sequence[str] | None = ...,
          svg: bool = ...) -> Union[Sweep, str]: ...
