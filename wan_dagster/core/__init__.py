"""Core services, no Dagster imports: catalog loading and validation, the generation plan, the
task ledger, the media store and the async batch scheduler."""
