"""The ``etl`` code location behind the proxy in the tests: assets, jobs, a schedule, a sensor."""

from dagster import (
    AssetSelection,
    Definitions,
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
    """Orders as they arrive."""
    return [1, 2, 3]


@asset
def cleaned_orders(raw_orders: list[int]) -> list[int]:
    """Orders without the bad ones."""
    return [o for o in raw_orders if o > 1]


etl_daily = define_asset_job("etl_daily", selection=AssetSelection.assets(raw_orders, cleaned_orders))


@op
def say_hello() -> str:
    """Say hello."""
    return "hello"


@job
def hello() -> None:
    """A job of one op."""
    say_hello()


daily = ScheduleDefinition(name="etl_daily_schedule", job=etl_daily, cron_schedule="0 6 * * *")


@sensor(job=hello, minimum_interval_seconds=3600)
def orders_sensor(context: SensorEvaluationContext) -> RunRequest | None:
    """Never fires on its own in the tests."""
    return None


defs = Definitions(
    assets=[raw_orders, cleaned_orders], jobs=[etl_daily, hello], schedules=[daily], sensors=[orders_sensor]
)
