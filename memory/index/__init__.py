"""Making beliefs findable: embedders, the local model build, index views, the Chroma index."""
