"""The long fuzz run (`make fuzz`): many examples per operation, plus schemathesis's coverage
phase (boundary values, every enum value, missing and wrong-typed fields of each operation).

Not collected by `make test` (the name does not start with test_). Run it with:

    .venv/bin/python -m pytest tests/fuzz_long.py -p no:cacheprovider

MESHKEEPER_FUZZ_EXAMPLES sets the generated examples per operation (default 100). Each
operation runs twice: as generated, and with its ids pointed at seeded records (the
coverage phase cannot be combined with a Hypothesis-drawn choice between the two).
"""

from __future__ import annotations

from tests.api.test_fuzz import call_and_check, examples, fuzz_server, fuzz_settings, load_schema

__all__ = ["fuzz_server"]  # the module-scoped server fixture the tests below use

schema = load_schema(coverage=True)
LONG = fuzz_settings(examples(100), derandomize=False)  # new cases every run


@schema.parametrize()
@LONG
def test_every_operation_answers_as_declared_long(case, fuzz_server):
    call_and_check(case, fuzz_server, use_world=False)


@schema.parametrize()
@LONG
def test_every_operation_on_seeded_records_answers_as_declared_long(case, fuzz_server):
    call_and_check(case, fuzz_server, use_world=True)
