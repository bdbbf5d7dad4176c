"""Numbers as the files ``kg load`` writes beside a store keep them: base64 of little-endian unsigned integers.

The evidence index's study numbers and the graph pack's offsets are read back
in one call each (a JSON list of 1.7 million numbers took 1.7 million
objects); ``typecode`` is the :mod:`array` type, which fixes the width
(``"I"``: 4 bytes, ``"Q"``: 8).
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Iterable
from typing import Any


def pack(numbers: Iterable[int], typecode: str) -> str:
    """The numbers as text: base64 of their little-endian bytes, ``typecode``'s width each."""
    data = array(typecode, numbers)
    if sys.byteorder != "little":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode("ascii")


def unpack(text: Any, typecode: str) -> array[int]:
    """Numbers read back (:func:`pack`); text that is not such numbers raises ValueError."""
    raw = base64.b64decode(str(text), validate=True)
    numbers = array(typecode)
    if len(raw) % numbers.itemsize:
        raise ValueError("numbers cut")
    numbers.frombytes(raw)
    if sys.byteorder != "little":
        numbers.byteswap()
    return numbers
