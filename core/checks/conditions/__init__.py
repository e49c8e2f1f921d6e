"""The condition language: what "up" means for a monitor, one line per condition.

    [STATUS] == 200                         [RESPONSE_TIME] < 500
    [STATUS] in [200, 201, 202]             [RESPONSE_TIME] < 1.5s
    [BODY].data.items[0].id == 42           [BODY].status == "ok"
    [BODY] contains "healthy"               [BODY] matches "^OK.*$"
    [HEADER].content-type contains json     [CERT_EXPIRY] > 7d
    len([BODY].data.items) >= 1             len([BODY]) < 10000
    [BODY] schema {"type": "object", "required": ["status"]}
    [BLOCK_AGE] < 60s   [CHAIN_ID] == 43113   [STEP1].body.token != null   [RCODE] == NOERROR

Grammar (spaces are allowed between tokens)::

    condition   := operand operator value
    operand     := reference | "len(" reference ")"
    reference   := "[" NAME "]" segment*               NAME := [A-Z][A-Z0-9_]*
    segment     := "." FIELD | "[" INTEGER "]" | "[" STRING "]"    FIELD := [A-Za-z0-9_$-]+
    operator    := "==" | "!=" | "<" | "<=" | ">" | ">="
                 | ["not"] "contains" | ["not"] "matches" | ["not"] "in" | "schema"
    value       := scalar                              (==, !=, contains: any scalar)
                 | NUMBER | DURATION                   (<, <=, >, >=)
                 | STRING                              (matches: a regular expression)
                 | "[" scalar ("," scalar)* "]"        (in, not in: a non-empty list)
                 | JSON object                         (schema: JSON Schema, Draft 2020-12)
    scalar      := STRING | NUMBER | DURATION | true | false | null | BAREWORD
    STRING      := "..." or '...'; \\" \\' \\\\ \\n \\t \\r are escapes, any other \\x stays as written
    NUMBER      := -?digits[.digits][(e|E)[+-]digits]            (compared exactly, as decimals)
    DURATION    := (digits[.digits] unit)+, unit ms|s|m|h|d      (7d, 1h30m, 500ms)
    BAREWORD    := a run without spaces, quotes, brackets or commas; it is a string (json, NOERROR)

Word operators and true/false/null are case-insensitive; placeholder names are upper-case.

Semantics: a condition is parsed once (a malformed one raises InvalidConditionError with
the 0-based position of the problem) and evaluated against each check's values, held in a
ConditionContext. Evaluation fails closed: an operand that does not resolve (a missing
field, an index out of range, a body that is not JSON, a placeholder this check does not
measure) or a value of the wrong type (text where a number is needed, a list compared with
a string) fails the condition with a reason; nothing silently becomes 0, "" or false.

* [BODY] alone is the body as text; [BODY] followed by a path reads the body as JSON
  (parsed at most once per context; refused above JSON_BODY_LIMIT bytes or JSON_MAX_DEPTH
  levels). [HEADER] names are case-insensitive; repeated headers are joined with ", ".
* ``==``/``!=`` compare numbers as exact decimals (numeric text counts as a number), text
  with text, booleans with booleans; ``!= null`` means "present and not null".
* Durations compare with timedelta values (CERT_EXPIRY) and with plain numbers, read as
  seconds, or as milliseconds for the names in ``millisecond_names`` (RESPONSE_TIME).
* ``matches`` (a search, anchor with ^ and $) runs on the ``regex`` engine with a time
  limit and sees at most the first MATCH_INPUT_LIMIT characters; the ``pattern`` keywords
  of a ``schema`` share a time budget too. Running out of time fails the condition.
* A schema may only ``$ref`` into itself (nothing is fetched): this package does no I/O.

Layout: ``values`` (ConditionContext, Duration, ConditionResult), ``compare`` (exact
comparisons, previews), ``schema`` (JSON Schema with bounded regular expressions),
``tree`` (Operand, Condition, evaluation), ``parser`` (text to Condition), ``apply`` (what
the check types call). JSON depth is measured by ``lighthouse.core.jsonsafe``.
"""

from __future__ import annotations

from lighthouse.core.checks.conditions.apply import conditions_from_shorthand, evaluate_into
from lighthouse.core.checks.conditions.compare import ACTUAL_MAX
from lighthouse.core.checks.conditions.parser import (
    MAX_CONDITION_LENGTH,
    MAX_PATTERN_LENGTH,
    cached_condition,
    parse_condition,
    parse_conditions,
    quote,
)
from lighthouse.core.checks.conditions.schema import SCHEMA_TIMEOUT_S
from lighthouse.core.checks.conditions.tree import (
    MATCH_INPUT_LIMIT,
    MATCH_TIMEOUT_S,
    OPERATORS,
    Condition,
    Operand,
    all_ok,
    evaluate_all,
)
from lighthouse.core.checks.conditions.values import (
    JSON_BODY_LIMIT,
    MILLISECOND_PLACEHOLDERS,
    ConditionContext,
    ConditionResult,
    Duration,
)
from lighthouse.core.jsonsafe import JSON_MAX_DEPTH

__all__ = [
    "ACTUAL_MAX",
    "JSON_BODY_LIMIT",
    "JSON_MAX_DEPTH",
    "MATCH_INPUT_LIMIT",
    "MATCH_TIMEOUT_S",
    "MAX_CONDITION_LENGTH",
    "MAX_PATTERN_LENGTH",
    "MILLISECOND_PLACEHOLDERS",
    "OPERATORS",
    "SCHEMA_TIMEOUT_S",
    "Condition",
    "ConditionContext",
    "ConditionResult",
    "Duration",
    "Operand",
    "all_ok",
    "cached_condition",
    "conditions_from_shorthand",
    "evaluate_all",
    "evaluate_into",
    "parse_condition",
    "parse_conditions",
    "quote",
]
