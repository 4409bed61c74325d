"""Prompt and injection template files (plain text; edit freely)."""
