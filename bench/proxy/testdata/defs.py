"""The code location of the proxy benchmark (bench/proxy): two jobs, a
schedule, a sensor and three assets, none of which touches the network.
seed.py runs the jobs in-process so the runs page has runs to list."""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    Definitions,
    OpExecutionContext,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    asset,
    define_asset_job,
    job,
    op,
    sensor,
)


@asset
def raw_orders() -> list[int]:
    return list(range(10))


@asset
def clean_orders(raw_orders: list[int]) -> list[int]:
    return [o for o in raw_orders if o % 2 == 0]


@asset
def order_report(context: AssetExecutionContext, clean_orders: list[int]) -> int:
    context.log.info(f"{len(clean_orders)} orders")
    return len(clean_orders)


@op
def say_hello(context: OpExecutionContext) -> str:
    context.log.info("hello")
    return "hello"


@op
def count_letters(context: OpExecutionContext, word: str) -> int:
    context.log.info(f"{len(word)} letters")
    return len(word)


@job
def hello() -> None:
    count_letters(say_hello())


orders_job = define_asset_job("orders_job", selection="*")

nightly = ScheduleDefinition(name="nightly", job=hello, cron_schedule="0 3 * * *")


@sensor(job=hello, minimum_interval_seconds=3600)
def on_demand(context: SensorEvaluationContext) -> Iterator[RunRequest]:
    if context.cursor is None:
        context.update_cursor("seen")
        yield RunRequest(run_key="first")


defs = Definitions(
    assets=[raw_orders, clean_orders, order_report],
    jobs=[hello, orders_job],
    schedules=[nightly],
    sensors=[on_demand],
)
