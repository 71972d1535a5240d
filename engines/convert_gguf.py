"""GGUF -> Hugging Face safetensors folder, for vLLM. Runs in the vLLM environment.

    python engines/convert_gguf.py SOURCE.gguf OUTPUT_DIR

Used by ``flask --app app models prepare``; standalone on purpose (the vLLM
environment does not install the host).
"""

from __future__ import annotations

import sys
from pathlib import Path


def convert(source: Path, output: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are de-quantized on load
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.to(torch.bfloat16).save_pretrained(output, safe_serialization=True)
    tokenizer.save_pretrained(output)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert_gguf.py SOURCE.gguf OUTPUT_DIR")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
