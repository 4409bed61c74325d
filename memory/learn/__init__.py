"""Learning from turns: gate, local and LLM extractors, op checks, apply, the outbox worker."""
