"""The checks the hub runs on each document package (adapters over formats.rules and signing)."""
