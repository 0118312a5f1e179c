"""The ``ml`` code location: one asset and its job."""

from dagster import AssetSelection, Definitions, asset, define_asset_job


@asset
def features() -> dict[str, float]:
    """Model features."""
    return {"a": 1.0}


train = define_asset_job("train", selection=AssetSelection.assets(features))

defs = Definitions(assets=[features], jobs=[train])
