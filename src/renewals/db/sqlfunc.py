"""Portable SQL functions for set-based statements: date arithmetic, dates as text, JSON objects
and zero padding, compiled for PostgreSQL and for SQLite (which keeps dates as ISO text).

Each is a small `FunctionElement` with one rendering per dialect, so a domain query states what
it wants (`days_between(a, b)`) and never which database it runs on. In a template, `{0}`, `{1}`
are the arguments in order and `{all}` all of them separated by commas.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Integer, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine


def _function(name: str, type_: TypeEngine[Any], postgresql: str, sqlite: str) -> type[FunctionElement[Any]]:
    """A SQL function rendered from `postgresql` (the default) or `sqlite`."""
    cls: type[FunctionElement[Any]] = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True})

    def render(template: str) -> Any:
        def compile_(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
            args = [compiler.process(clause, **kw) for clause in element.clauses]
            return template.format(*args, all=", ".join(args))

        return compile_

    compiles(cls)(render(postgresql))
    compiles(cls, "sqlite")(render(sqlite))
    return cls


# `day − n days` for a date and an integer (columns or values).
days_before = _function("days_before", Date(), "({0} - {1})", "date({0}, printf('%d days', -({1})))")
# Whole days from the second date to the first (`later − earlier`).
days_between = _function("days_between", Integer(), "({0} - {1})", "CAST(julianday({0}) - julianday({1}) AS INTEGER)")
# A date as `YYYY-MM-DD` text, whatever the server's date style.
iso_date = _function("iso_date", Text(), "to_char({0}, 'YYYY-MM-DD')", "date({0})")
# A date as the integer YYYYMMDD.
yyyymmdd = _function(
    "yyyymmdd", BigInteger(), "CAST(to_char({0}, 'YYYYMMDD') AS BIGINT)", "CAST(strftime('%Y%m%d', {0}) AS INTEGER)"
)
# Text left-padded with zeros to a width given as a literal integer.
zero_padded = _function("zero_padded", Text(), "lpad({0}, {1}, '0')", "substr('000000000000000000' || {0}, -({1}))")
# A JSON object from alternating keys and values, keys in the order given.
json_object = _function("json_object", JSON(), "json_build_object({all})", "json_object({all})")
