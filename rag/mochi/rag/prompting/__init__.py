"""The completion prompt format, shared by the language server and the trainer.

The trainer builds retrieval-aware training samples in exactly the format the
server sends to the model, so both import it from here.
"""

from mochi.rag.prompting.context import ContextSnippet, format_context, select_snippets
from mochi.rag.prompting.fim import FIM_TEMPLATES, FimTemplate, detect_fim_template
from mochi.rag.prompting.prompt import CompletionPrompt, build_prompt

__all__ = [
    "FIM_TEMPLATES",
    "CompletionPrompt",
    "ContextSnippet",
    "FimTemplate",
    "build_prompt",
    "detect_fim_template",
    "format_context",
    "select_snippets",
]
