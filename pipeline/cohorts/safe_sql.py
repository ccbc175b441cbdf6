"""Spec expressions are SQL over one row's columns, nothing more.

An expression is parsed by DuckDB's parser (``json_serialize_sql``) and refused, before any
data is read, when it contains a subquery, a FROM clause or table function (``read_csv``,
``scan_parquet``, ...), or a function outside a small allow-list (so no ``getenv``, no file
or network access).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

from pipeline.errors import CohortDataError

ALLOWED_FUNCTIONS = frozenset(
    {
        # operators DuckDB represents as functions
        "+", "-", "*", "/", "//", "%", "||", "~~", "!~~", "~~*", "!~~*", "^", "**",
        # scalar functions that exist in polars SQL and read nothing but their arguments
        "abs", "ceil", "ceiling", "floor", "round", "sqrt", "ln", "log", "log10", "log2", "exp", "power",
        "pow", "sign", "mod", "greatest", "least", "coalesce", "nullif", "ifnull", "if",
        "lower", "upper", "trim", "ltrim", "rtrim", "length", "char_length", "substr", "substring",
        "left", "right", "concat", "concat_ws", "replace", "starts_with", "ends_with", "strpos",
        "regexp_like", "regexp_matches", "regexp_replace", "split_part", "reverse", "initcap",
        "date_part", "extract", "year", "month", "day", "strftime", "cast",
    }
)  # fmt: skip
_REFUSED_CLASSES = {"SUBQUERY", "STAR", "COLUMNS", "PARAMETER", "LAMBDA"}


def check_expression(expression: str, *, origin: str, key: str) -> None:
    """Raise :class:`CohortDataError` unless ``expression`` is a plain row-level SQL expression."""
    if not isinstance(expression, str) or not expression.strip():
        raise CohortDataError("a spec expression must be non-empty text", file=origin, column=key)
    try:
        parsed = json.loads(duckdb.execute("SELECT json_serialize_sql(?)", [f"SELECT ({expression})"]).fetchone()[0])
    except duckdb.Error as exc:
        raise CohortDataError(f"cannot parse spec expression {expression!r}: {exc}", file=origin, column=key) from exc
    problem = _problem(parsed)
    if problem:
        raise CohortDataError(
            f"spec expression refused ({problem}): expressions may use the row's columns, literals, "
            f"CASE/CAST/IN-lists and simple functions, but no subquery, table function, file or environment: "
            f"{expression!r}",
            file=origin,
            column=key,
        )


def _problem(parsed: dict[str, Any]) -> str | None:
    if parsed.get("error"):
        return f"not one expression: {parsed.get('error_message')}"
    statements = parsed.get("statements") or []
    if len(statements) != 1:
        return "more than one statement"
    node = statements[0]["node"]
    has_from = node.get("from_table", {}).get("type") != "EMPTY"
    if has_from or node.get("where_clause") or node.get("cte_map", {}).get("map"):
        return "a FROM, WHERE or WITH clause"
    for item in _walk(node.get("select_list")):
        if item.get("class") in _REFUSED_CLASSES or item.get("type") in ("SUBQUERY", "TABLE_FUNCTION"):
            return f"{item.get('class', item.get('type')).lower()} not allowed"
        if "from_table" in item:
            return "a nested query"
        if item.get("class") == "FUNCTION":
            name = str(item.get("function_name", "")).lower()
            if name not in ALLOWED_FUNCTIONS or item.get("schema") or item.get("catalog"):
                return f"function {name!r} not allowed"
    return None


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child)
