"""Report JSON: reading it back field by field (errors name the field), and the files.

The reader never trusts the file: every field is checked for type and range, so a
hand-edited, truncated or hostile report fails with one
:class:`~nats_fault_harness.report.ReportFormatError` such as
``tests[3].lanes[0].windows[1].start: expected a finite number, got nan`` instead of a
traceback. Its cost is bounded too: at most :data:`MAX_REPORT_BYTES` are read, free-form
objects (check details, fault parameters) nest at most :data:`MAX_FREE_DEPTH` levels, and
a message strip has at most :data:`MAX_BINS` bins. Text is written as ASCII JSON (lone
surrogates and control characters escaped, then replaced by :func:`clean_data`), so
writing never fails on odd text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nats_fault_harness.report._model import (
    MATRIX_VERDICTS,
    SCHEMA,
    SCHEMA_VERSION,
    Attempt,
    Check,
    Environment,
    Lane,
    Mark,
    Matrix,
    MatrixCell,
    MatrixRow,
    Messages,
    Report,
    ReportFormatError,
    TestEntry,
    Window,
)
from nats_fault_harness.report._text import clean_data

__all__ = [
    "MAX_BINS",
    "MAX_FREE_DEPTH",
    "MAX_REPORT_BYTES",
    "entry_from_dict",
    "json_path_for",
    "read_report",
    "report_from_dict",
    "write_json",
]

MAX_REPORT_BYTES = 128 * 1024 * 1024
"""Largest report JSON read back (a report of 1,000 tests is about 5 MB)."""
MAX_FREE_DEPTH = 16
"""Deepest nesting of free-form objects (details, params, schedule); the writer makes 6."""
MAX_BINS = 10_000
"""Most time bins of a message strip (the writer makes 40)."""

_MISSING = object()
_SEVERITIES = ("info", "good", "warn", "error")
_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
_VERDICTS = ("valid", "invalid", "unknown")
_LANE_KINDS = ("link", "pool", "server", "cluster", "proxy", "client", "target")


def json_path_for(html: Path) -> Path:
    """The JSON written beside a report: ``x.html`` -> ``x.json``."""
    return html.with_suffix(".json")


def json_text(report: Report) -> str:
    """``report`` as compact ASCII JSON, odd text replaced (see :mod:`._text`)."""
    return json.dumps(clean_data(report.to_dict()), separators=(",", ":"))


def write_json(report: Report, path: Path) -> None:
    """Write ``report`` as compact JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_text(report), encoding="utf-8")


def read_report(path: Path) -> Report:
    """Load a report written by :func:`write_json`.

    Raises:
        ReportFormatError: the file is missing, too large, not JSON, or a field is wrong;
            the message names the file and the field.
    """
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise ReportFormatError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportFormatError(
            str(path), f"larger than the limit of {MAX_REPORT_BYTES} bytes; not read"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ReportFormatError(str(path), f"not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        raise ReportFormatError(where, f"not valid JSON: {exc.msg}") from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ReportFormatError(str(path), f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ReportFormatError(str(path), "not valid JSON: nested too deeply") from exc
    try:
        return report_from_dict(data)
    except ReportFormatError as exc:
        raise ReportFormatError(f"{path}: {exc.field}", exc.problem) from exc


def report_from_dict(data: Any) -> Report:
    """Inverse of :meth:`Report.to_dict`."""
    if not isinstance(data, Mapping):
        raise ReportFormatError("(top level)", f"expected an object, got {_kind(data)}")
    if data.get("schema") != SCHEMA:
        raise ReportFormatError("schema", f"expected {SCHEMA!r}, got {data.get('schema')!r}")
    if data.get("version") != SCHEMA_VERSION:
        raise ReportFormatError(
            "version",
            f"this harness reads version {SCHEMA_VERSION}, the file has {data.get('version')!r}",
        )
    r = _Reader(data, "")
    env = _Reader(r.obj("environment"), "environment")
    environment = Environment(
        harness=env.text("harness"),
        nats_py=env.text("nats_py"),
        nats_server=env.text("nats_server"),
        python=env.text("python"),
        platform=env.text("platform"),
        seeds=tuple(env.ints("seeds")),
        command=env.text("command", ""),
        started=env.text("started", ""),
        duration_s=env.number("duration_s", 0.0, minimum=0.0),
    )
    tests = tuple(entry_from_dict(t, f"tests[{i}]") for i, t in r.objs("tests"))
    matrix = r.opt_obj("matrix")
    return Report(
        environment,
        tests,
        r.text("title", "NATS fault report"),
        None if matrix is None else _matrix(matrix),
    )


def _matrix(data: Mapping[str, Any]) -> Matrix:
    r = _Reader(data, "matrix")
    clients = tuple(r.texts("clients"))
    rows = []
    for i, row in r.objs("rows"):
        rr = _Reader(row, f"matrix.rows[{i}]")
        cells = tuple(
            MatrixCell(cr.choice("verdict", MATRIX_VERDICTS), cr.text("reason", ""))
            for cr in (_Reader(c, f"matrix.rows[{i}].cells[{j}]") for j, c in rr.objs("cells"))
        )
        if len(cells) != len(clients):
            raise ReportFormatError(
                f"matrix.rows[{i}].cells", f"{len(cells)} cells for {len(clients)} clients"
            )
        rows.append(MatrixRow(rr.text("scenario"), cells))
    return Matrix(clients, tuple(rows))


def entry_from_dict(data: Mapping[str, Any], where: str = "test") -> TestEntry:
    """Inverse of :meth:`TestEntry.to_dict`."""
    r = _Reader(data, where)
    messages = r.opt_obj("messages")
    return TestEntry(
        nodeid=r.text("nodeid"),
        kind=r.choice("kind", ("scenario", "test", "collect")),
        outcome=r.choice("outcome", _OUTCOMES),
        duration_s=r.number("duration_s", minimum=0.0),
        verdict=r.opt_choice("verdict", _VERDICTS),
        claims=tuple(r.texts("claims")),
        replay=tuple(r.texts("replay")),
        failure=r.text("failure", ""),
        checks=tuple(_check(c, f"{where}.checks[{i}]") for i, c in r.objs("checks")),
        lanes=tuple(_lane(x, f"{where}.lanes[{i}]") for i, x in r.objs("lanes")),
        span=r.number("span", 0.0, minimum=0.0),
        messages=_messages(messages, f"{where}.messages") if messages is not None else None,
        attempts=tuple(_attempt(a, f"{where}.attempts[{i}]") for i, a in r.objs("attempts")),
        schedule=_schedule(r),
        exceptions=dict(
            zip(r.opt_obj("exceptions") or {}, r.ints_of("exceptions", minimum=0), strict=True)
        ),
        seed=r.opt_int("seed"),
    )


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _shown(value: object) -> str:
    """A value as an error shows it: short scalars as written, anything else by kind."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int) and len(str(value)) > 20:
        return f"an integer of {len(str(value))} digits"
    if isinstance(value, str | int | float):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return {"dict": "an object", "list": "a list"}.get(_kind(value), _kind(value))


def _free(value: Any, where: str, depth: int = 0) -> Any:
    """Check that free-form data (details, params) nests at most MAX_FREE_DEPTH levels."""
    if isinstance(value, Mapping | list):
        if depth >= MAX_FREE_DEPTH:
            raise ReportFormatError(where, f"nested deeper than the limit of {MAX_FREE_DEPTH}")
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            _free(
                item,
                f"{where}.{key}" if isinstance(value, Mapping) else f"{where}[{key}]",
                depth + 1,
            )
    return value


def _schedule(r: _Reader) -> dict[str, Any]:
    """The retry schedule: free-form, but the report draws ``base`` and ``max_retries``."""
    if r.opt_obj("schedule") is None:
        return {}
    s = _Reader(r.obj("schedule"), r._path("schedule"))
    if "base" in s.data:
        s.number("base", minimum=0.0)
    if "max_retries" in s.data:
        s.integer("max_retries", minimum=0)
    return dict(_free(s.data, s.where))


class _Reader:
    """Typed access to one JSON object; errors name the field's full path."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data, self.where = data, where

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise ReportFormatError(self._path(key), "missing")
        return default

    def _bad(self, key: str, expected: str, value: object) -> ReportFormatError:
        return ReportFormatError(self._path(key), f"expected {expected}, got {_shown(value)}")

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def number(self, key: str, default: Any = _MISSING, *, minimum: float | None = None) -> float:
        """A finite number (NaN, Infinity and integers beyond a float are refused)."""
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(key, "a number", value)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self._bad(key, "a finite number", value)
        if minimum is not None and number < minimum:
            raise self._bad(key, f"a number >= {minimum:g}", value)
        return number

    def opt_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key)

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer", value)
        if minimum is not None and value < minimum:
            raise self._bad(key, f"an integer >= {minimum}", value)
        return value

    def opt_int(self, key: str, *, minimum: int | None = None) -> int | None:
        return None if self.data.get(key) is None else self.integer(key, minimum=minimum)

    def choice(self, key: str, allowed: tuple[Any, ...]) -> Any:
        value = self._get(key, _MISSING)
        if not isinstance(value, str) or value not in allowed:
            raise ReportFormatError(
                self._path(key), f"expected one of {', '.join(allowed)}, got {_shown(value)}"
            )
        return value

    def opt_choice(self, key: str, allowed: tuple[Any, ...]) -> Any:
        return None if self.data.get(key) is None else self.choice(key, allowed)

    def items(self, key: str) -> list[Any]:
        value = self._get(key, [])
        if not isinstance(value, list):
            raise self._bad(key, "a list", value)
        return value

    def texts(self, key: str) -> list[str]:
        items = self.items(key)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self._bad(f"{key}[{i}]", "a string", item)
        return items

    def ints(self, key: str, *, minimum: int | None = None) -> list[int]:
        items = self.items(key)
        for i, item in enumerate(items):
            if isinstance(item, bool) or not isinstance(item, int):
                raise self._bad(f"{key}[{i}]", "an integer", item)
            if minimum is not None and item < minimum:
                raise self._bad(f"{key}[{i}]", f"an integer >= {minimum}", item)
        return items

    def ints_of(self, key: str, *, minimum: int | None = None) -> list[int]:
        """The values of the object at ``key``, each an integer."""
        values = self.opt_obj(key) or {}
        for k, v in values.items():
            if isinstance(v, bool) or not isinstance(v, int):
                raise self._bad(f"{key}.{k}", "an integer", v)
            if minimum is not None and v < minimum:
                raise self._bad(f"{key}.{k}", f"an integer >= {minimum}", v)
        return list(values.values())

    def free(self, key: str) -> dict[str, Any]:
        """A free-form object (may be absent or null), nesting bounded."""
        return dict(_free(self.opt_obj(key) or {}, self._path(key)))

    def obj(self, key: str) -> Mapping[str, Any]:
        value = self._get(key, _MISSING)
        if not isinstance(value, Mapping):
            raise self._bad(key, "an object", value)
        return value

    def opt_obj(self, key: str) -> Mapping[str, Any] | None:
        return None if self.data.get(key) is None else self.obj(key)

    def objs(self, key: str) -> list[tuple[int, Mapping[str, Any]]]:
        items = self.items(key)
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise self._bad(f"{key}[{i}]", "an object", item)
        return list(enumerate(items))


def _window(data: Mapping[str, Any], where: str) -> Window:
    r = _Reader(data, where)
    return Window(
        r.opt_int("fault_id") or 0,
        r.text("kind"),
        r.number("start"),
        r.opt_number("end"),
        r.free("params"),
    )


def _mark(data: Mapping[str, Any], where: str) -> Mark:
    r = _Reader(data, where)
    return Mark(
        r.number("t"), r.text("kind"), r.text("label", ""), r.choice("severity", _SEVERITIES)
    )


def _lane(data: Mapping[str, Any], where: str) -> Lane:
    r = _Reader(data, where)
    return Lane(
        r.text("name"),
        r.choice("kind", _LANE_KINDS),
        tuple(_window(w, f"{where}.windows[{i}]") for i, w in r.objs("windows")),
        tuple(_mark(m, f"{where}.marks[{i}]") for i, m in r.objs("marks")),
        r.opt_int("dropped", minimum=0) or 0,
    )


def _messages(data: Mapping[str, Any], where: str) -> Messages:
    r = _Reader(data, where)
    bins = _Reader(r.obj("bins"), f"{where}.bins")
    rows = {str(k): tuple(bins.ints(k, minimum=0)) for k in bins.data}
    first = len(next(iter(rows.values()), ()))
    for k, row in rows.items():
        if not 1 <= len(row) <= MAX_BINS:
            problem = f"expected 1 to {MAX_BINS} bins, got {len(row)}"
            raise ReportFormatError(bins._path(k), problem)
        if len(row) != first:
            problem = f"expected {first} bins like the first fate, got {len(row)}"
            raise ReportFormatError(bins._path(k), problem)
    return Messages(
        dict(zip(r.obj("counts"), r.ints_of("counts", minimum=0), strict=True)),
        rows,
        tuple(r.texts("lost")),
    )


def _attempt(data: Mapping[str, Any], where: str) -> Attempt:
    r = _Reader(data, where)
    ok = data.get("ok")
    if ok is not None and not isinstance(ok, bool):
        raise ReportFormatError(f"{where}.ok", f"expected true, false or null, got {_kind(ok)}")
    attempt = r.opt_int("attempt")
    return Attempt(
        r.text("group"),
        attempt if attempt is not None else 0,
        r.number("t"),
        r.opt_number("expected"),
        r.opt_number("actual"),
        ok,
    )


def _check(data: Mapping[str, Any], where: str) -> Check:
    r = _Reader(data, where)
    return Check(
        r.text("name"),
        r.choice("verdict", _VERDICTS),
        r.text("message", ""),
        r.free("details"),
    )
