"""Hover facts and code-action tasks, independent of LSP."""
