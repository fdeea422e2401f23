"""Plain JSON values from what a run produces: NumPy and torch values, dataclasses, paths
(NaN and infinities become None, floats of arrays are rounded to 6 decimals)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    """NumPy/torch/dataclass values -> plain JSON values (NaN/inf -> None)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            return [jsonable(v) for v in np.round(x.astype(np.float64), 6).tolist()] \
                if x.ndim else jsonable(float(x))
        return x.tolist()
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if not math.isfinite(x) else x
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, (bool, int, str)):
        return x
    return repr(x)
