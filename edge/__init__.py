"""The edge POP: classify → authorize → cache key → lookup → fetch → cacheability → store → deliver.

`edge.pipeline` alone knows that order; each stage is its own module.
"""
