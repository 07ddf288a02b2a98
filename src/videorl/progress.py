"""Progress for every long command: a tqdm bar on a terminal; plain lines (one every 5%) when
stderr is a log file, CI or a cluster job, where bar redraws would fill the log with carriage
returns. ``TQDM_DISABLE=1`` turns both off."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any


def progress(
    iterable: Iterable | None = None, *, total: int | None = None, initial: int = 0,
    desc: str = "", unit: str = "it", disable: bool = False,
) -> Any:  # fmt: skip
    """A progress reporter with tqdm's ``update``, ``set_postfix``, ``close`` and iteration."""
    disable = disable or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
    if disable or sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit,
                    disable=disable, dynamic_ncols=True)  # fmt: skip
    return LineProgress(iterable, total, initial, desc, unit)


class LineProgress:
    """One line per 5% of ``total`` (and one at the end), for logs."""

    def __init__(self, iterable, total: int | None, initial: int, desc: str, unit: str) -> None:
        self.iterable = iterable
        self.total = total if total is not None else len(iterable)  # type: ignore[arg-type]
        self.n, self.desc, self.unit, self.postfix = initial, desc, unit, ""
        self._next = self._mark_after(initial)

    def _mark_after(self, n: int) -> int:
        step = max(1, self.total // 20)
        return (n // step + 1) * step

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.update(1)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self._next or self.n == self.total:
            self._print()
            self._next = self._mark_after(self.n)

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def _print(self) -> None:
        pct = 100.0 * self.n / max(self.total, 1)
        tail = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}s ({pct:.0f}%){tail}",
              file=sys.stderr, flush=True)  # fmt: skip

    def close(self) -> None:
        pass
