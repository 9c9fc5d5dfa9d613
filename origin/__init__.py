"""The regional origin: ingest → queue → probe → package → publish → replicate, plus delivery."""
