"""Code completion at a cursor: context, prompt, generation, post-processing."""
