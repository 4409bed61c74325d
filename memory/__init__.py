"""The self-model: beliefs, evidence, confidence, retrieval, injection planning, extraction.

Modules are imported directly (`memory.selfmodel`, `memory.beliefs`, ...): the package itself
imports nothing, so a command that needs one piece does not load chromadb or onnxruntime.
"""
