"""Training: LoRA / DoRA / QLoRA / full fine-tuning with EWC, replay and exact resume.

Modules, top to bottom: `params` (the validated configuration), `data` (tokenised
samples and the seeded batch order), `targets` (LoRA target modules per architecture),
`model_setup` (a model ready to train for a strategy), `schedule` (learning rate),
`ewc` (Fisher diagonal and penalty), `checkpoint` (atomic save and exact resume),
`loop` (the training loop), `evaluate`, `replay`, `export` and `run` (`train_adapter`,
which ties them together). torch, transformers and peft are imported inside functions
only: importing this package is cheap.
"""
