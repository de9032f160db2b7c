"""Load a Z-Image pipeline from a local directory, never from the hub.

The directory has the published layout (model_index.json, transformer/,
text_encoder/, tokenizer/, vae/, scheduler/). It is checked before diffusers
sees it, so an incomplete copy fails with the missing part named instead of a
deep traceback or an attempt to download.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

# Each part with the files that must be there: a config, and weights where the
# part has any (safetensors, possibly sharded; or legacy .bin).
PARTS = {
    "transformer": ("config.json", "weights"),
    "text_encoder": ("config.json", "weights"),
    "vae": ("config.json", "weights"),
    "tokenizer": ("tokenizer_config.json",),
    "scheduler": ("scheduler_config.json",),
}
DTYPES = ("bfloat16", "float16", "float32")
# Backends that accept the key-padding mask the transformer builds when the
# prompts of one batch have different lengths (see docs/gpu_worker.md).
ATTENTION_BACKENDS = ("native", "flash_varlen", "_flash_varlen_3")


class ModelDirError(Exception):
    pass


@dataclass(frozen=True)
class LoadOptions:
    model_dir: str
    device: str = "cuda"
    dtype: str = "bfloat16"
    attention: str = "native"
    compile: bool = False


def missing_parts(model_dir: Path) -> list[str]:
    """What a complete model directory lacks, as 'vae/' or 'vae/config.json'."""
    missing = [] if (model_dir / "model_index.json").is_file() else ["model_index.json"]
    for part, needed in PARTS.items():
        folder = model_dir / part
        if not folder.is_dir():
            missing.append(f"{part}/")
            continue
        for name in needed:
            if name == "weights":
                if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
                    missing.append(f"{part}/ weights (*.safetensors)")
            elif not (folder / name).is_file():
                missing.append(f"{part}/{name}")
    return missing


def check_model_dir(model_dir: str) -> Path:
    path = Path(model_dir).expanduser()
    if not path.is_dir():
        raise ModelDirError(f"Model directory {path} does not exist.")
    missing = missing_parts(path)
    if missing:
        raise ModelDirError(
            f"Model directory {path} is incomplete; missing: {', '.join(missing)}. "
            "Copy the whole published Z-Image-Turbo folder (model_index.json, transformer/, "
            "text_encoder/, tokenizer/, vae/, scheduler/)."
        )
    return path


def load_pipeline(options: LoadOptions):
    """The pipeline on its device, in eval mode, progress bars off."""
    path = check_model_dir(options.model_dir)
    if options.dtype not in DTYPES:
        raise ModelDirError(f"Unknown dtype {options.dtype!r}; use one of {', '.join(DTYPES)}.")
    # huggingface_hub reads this when it is imported, hence before diffusers.
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from diffusers import ZImagePipeline

    # Every diffusers the gpu extra allows understands `torch_dtype`; `dtype`
    # replaced it only lately (PR #14205) and older releases silently ignore
    # `dtype`, which would load float32. Hence the old name, minus its warning.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
        pipe = ZImagePipeline.from_pretrained(
            str(path), torch_dtype=getattr(torch, options.dtype), local_files_only=True
        )
    pipe.to(options.device)
    pipe.set_progress_bar_config(disable=True)
    if options.attention != "native":  # native (torch SDPA) is diffusers' default
        pipe.transformer.set_attention_backend(options.attention)
    if options.compile:
        compile_transformer(pipe)
    return pipe


def compile_transformer(pipe) -> None:
    """Regional compilation: the identical transformer blocks compile once;
    dynamic shapes because batch size and caption length change per call."""
    pipe.transformer.compile_repeated_blocks(fullgraph=True, dynamic=True)
