"""What this machine computes with: a CUDA GPU, or a CPU with or without native bfloat16.

The defaults that depend on it (the embedded servers' dtype, the default text model)
ask here, so they agree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def cuda_available() -> bool:
    try:
        import ctranslate2

        return bool(ctranslate2.get_cuda_device_count() > 0)
    except Exception:
        return False


def cpu_dtype(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """bfloat16 where the CPU computes it natively, else float32.

    Without AVX512-BF16 or AMX, oneDNN cannot build bfloat16 matmuls and vLLM falls
    back to emulated ones: prompts then take several times longer (measured: a
    150-token prompt 2.3 s to its first token in bfloat16, 0.6 s in float32).
    """
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return "float32"
    return "bfloat16" if flags & {"avx512_bf16", "amx_bf16"} else "float32"


def fast_half_precision(device: str, dtype: str = "auto") -> bool:
    """Whether an embedded server on ``device`` runs in 16-bit weights: a GPU, or a CPU
    with native bfloat16 (unless ``dtype`` forces float32)."""
    if dtype != "auto":
        return dtype != "float32"
    if device == "cuda" or (device == "auto" and cuda_available()):
        return True
    return cpu_dtype() == "bfloat16"
