"""What `mochi eval` scores is what `mochi serve` answers: the same tasks, completed by
`mochi eval` (the server's pipeline in process) and by a real `mochi serve` over LSP with
the repository at the cut as its workspace, give identical text in every configuration
(base, retrieval, lora, retrieval+lora), with the real SmolLM2-135M and all-MiniLM-L6-v2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eval_history import build_history
from lsp_fixtures import SERVER_COMMAND, inline, wait_until_indexed
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from mochi.trainer.evaluation.tasks import Task, read_tasks

pytestmark = [pytest.mark.model, pytest.mark.slow]

CONFIGS = ("base", "retrieval", "lora", "retrieval+lora")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@dataclass
class Evaluated:
    workspace: Path  # a clone of the repository checked out at the cut
    model_dir: Path
    adapter: Path
    tasks: list[Task]
    predictions: dict[tuple[str, str], str]  # (configuration, task id) -> text


def _random_lora(model_dir: Path, folder: Path) -> Path:
    """A LoRA whose B matrices are small and random: it changes what the model writes."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(model_dir),
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]),
    )
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 0.05)
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory, model_data_dir: Path) -> Evaluated:
    root = tmp_path_factory.mktemp("eval-serve")
    history = build_history(root / "repo")
    model_dir = model_data_dir / "models" / "smollm2-135m-instruct"
    adapter = _random_lora(model_dir, root / "adapter")
    out = root / "run"
    command = [sys.executable, "-m", "mochi.server.cli.main", "eval", str(history.root)]
    command += ["--since", history.cut, "--configs", ",".join(CONFIGS), "--out", str(out)]
    command += ["--model", str(model_dir), "--adapter", str(adapter), "--quiet"]
    command += ["--max-tasks", "6", "--max-per-file", "100", "--max-per-commit", "100"]
    command += ["--max-new-tokens", "16"]
    subprocess.run(command, env={**ENV, "XDG_DATA_HOME": str(root / "xdg")}, check=True)
    results = [json.loads(line) for line in (out / "results.jsonl").open()]
    workspace = root / "workspace"
    subprocess.run(["git", "clone", "-q", str(history.root), str(workspace)], check=True)
    subprocess.run(["git", "-C", str(workspace), "checkout", "-q", history.cut], check=True)
    return Evaluated(
        workspace=workspace,
        model_dir=model_dir,
        adapter=adapter,
        tasks=read_tasks(out / "tasks.jsonl"),
        predictions={(r["config"], r["task"]): r["prediction"] for r in results},
    )


def _options(config: str, evaluated: Evaluated, data_dir: Path) -> dict[str, Any]:
    """The editor settings that make `mochi serve` what the configuration measures."""
    options: dict[str, Any] = {
        "dataDir": str(data_dir),
        # as `mochi eval` completes: each request from a cold KV cache (served_generator)
        "model": {"name": str(evaluated.model_dir), "prefixCache": False},
        "completion": {"maxTokens": 16},
    }
    if "retrieval" not in config:
        options["completion"]["contextTokens"] = 0
    if "lora" in config:
        options["model"]["adapters"] = {"default": str(evaluated.adapter)}
    return options


async def _served(config: str, evaluated: Evaluated, data_dir: Path) -> dict[str, str]:
    client: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=SERVER_COMMAND, server_env=ENV
    ).start()
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=evaluated.workspace.as_uri(),
                initialization_options=_options(config, evaluated, data_dir),
            )
        )
        await wait_until_indexed(client)
        served: dict[str, str] = {}
        for version, task in enumerate(evaluated.tasks, start=1):
            uri = (evaluated.workspace / task.path).as_uri()
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri,
                        language_id="python",
                        version=version,
                        text=task.prefix + task.suffix,
                    )
                )
            )
            line = task.prefix.count("\n")
            column = len(task.prefix) - (task.prefix.rfind("\n") + 1)
            result = await inline(client, uri, types.Position(line=line, character=column))
            served[task.id] = result.items[0].insert_text if result.items else ""
            client.text_document_did_close(
                types.DidCloseTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=uri)
                )
            )
        return served
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
@pytest.mark.parametrize("config", CONFIGS)
async def test_mochi_eval_scores_what_mochi_serve_answers(
    config: str, evaluated: Evaluated, tmp_path: Path
) -> None:
    served = await _served(config, evaluated, tmp_path / "data")
    measured = {task.id: evaluated.predictions[(config, task.id)] for task in evaluated.tasks}
    assert served == measured
    assert sum(1 for text in measured.values() if text.strip()) >= len(measured) // 2


def test_the_configurations_answer_differently(evaluated: Evaluated) -> None:
    """The comparison above is not vacuous: the adapter and the context change the text."""
    by_config = {
        config: [evaluated.predictions[(config, t.id)] for t in evaluated.tasks]
        for config in CONFIGS
    }
    assert by_config["lora"] != by_config["base"]
    assert (
        by_config["retrieval"] != by_config["base"]
        or by_config["retrieval+lora"] != by_config["lora"]
    )
