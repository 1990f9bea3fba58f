"""The runtimes bench_forward.py compares: bertcore, transformers + torch, ONNX Runtime (optimised graph).

Each peer loads one Hugging Face model directory and maps numpy int64 feeds (``input_ids``,
``attention_mask``, ``token_type_ids``) to ``last_hidden_state`` as a float32 numpy array. A peer whose
packages are missing raises ``PeerUnavailable`` from its constructor, with the reason.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _common import package_version

Feeds = dict[str, npt.NDArray[np.int64]]


class PeerUnavailable(RuntimeError):
    """The peer cannot run here (a package is missing or failed to load)."""


def configure_torch_threads(threads: int) -> str | None:
    """Give torch ``threads`` intra-op threads and one inter-op thread; return its version (None: no torch).

    Also turns off transformers' progress bars, which would interleave with the benchmark's output.
    """
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # only allowed before torch starts any inter-op work
        torch.set_num_interop_threads(1)
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        pass
    else:
        hf_logging.disable_progress_bar()
    return str(torch.__version__)


class BertcorePeer:
    """bertcore.BertModel with the pooler, ``num_threads``, ``isa`` and ``dtype`` as given."""

    name = "bertcore"

    def __init__(self, model_dir: Path, threads: int, isa: str | None, dtype: str = "float32") -> None:
        from bertcore import BertModel

        self.model = BertModel.from_pretrained(
            model_dir, add_pooling_layer=True, num_threads=threads, isa=isa, dtype=dtype
        )
        self.isa = self.model.isa
        self.info: dict[str, Any] = {"isa": self.isa, "num_threads": threads, "dtype": dtype}

    def __call__(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        return self.model(**feeds).last_hidden_state


class TorchPeer:
    """transformers.BertModel (default attention implementation) under torch.inference_mode."""

    name = "torch"

    def __init__(self, model_dir: Path) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise PeerUnavailable(f"torch/transformers not installed ({exc})") from exc
        self._torch = torch
        self.model = transformers.BertModel.from_pretrained(model_dir).eval()
        self.info = {
            "attn_implementation": self.model.config._attn_implementation,
            "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(),
        }

    def __call__(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        return out.last_hidden_state.numpy()


def _positional(model: Any) -> Any:
    """Wrap ``model`` as (input_ids, attention_mask, token_type_ids) -> (last_hidden_state, pooler_output).

    transformers' forward takes other arguments in the third position, so tracing needs keywords.
    """
    import torch

    class Positional(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> tuple[Any, Any]:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state, out.pooler_output

    return Positional(model).eval()


INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def export_onnx(model_dir: Path, onnx_path: Path) -> str:
    """Export the Hugging Face model (eager attention) with dynamic batch/sequence axes; return the exporter.

    The TorchScript exporter (``dynamo=False``) is tried first: its graph is the one ORT's BERT optimizer
    fuses completely (EmbedLayerNormalization, Attention, BiasGelu, SkipLayerNormalization). The dynamo
    exporter is the fallback where the TorchScript one is gone.
    """
    import torch
    import transformers

    model = transformers.BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    wrapped = _positional(model)
    sample = torch.randint(1000, 2000, (2, 16), dtype=torch.int64)
    args = (sample, torch.ones_like(sample), torch.zeros_like(sample))
    common: dict[str, Any] = {
        "input_names": list(INPUT_NAMES),
        "output_names": ["last_hidden_state", "pooler_output"],
        "opset_version": 17,
    }
    quiet = contextlib.redirect_stdout(io.StringIO())
    try:
        axes = {n: {0: "batch", 1: "sequence"} for n in (*INPUT_NAMES, "last_hidden_state")}
        axes["pooler_output"] = {0: "batch"}
        with warnings.catch_warnings(), quiet:
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapped, args, str(onnx_path), dynamo=False, dynamic_axes=axes, **common)
        return "torchscript"
    except Exception as exc:  # noqa: BLE001 - any failure means: try the other exporter
        print(f"  TorchScript ONNX export failed ({type(exc).__name__}: {exc}); trying dynamo=True")
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    shapes = tuple({0: batch, 1: seq} for _ in INPUT_NAMES)
    with warnings.catch_warnings(), quiet:
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, args, str(onnx_path), dynamo=True, dynamic_shapes=shapes, **common)
    return "dynamo"


def prepare_ort_model(
    model_dir: Path, work_dir: Path, num_heads: int, hidden_size: int
) -> tuple[Path, dict[str, Any]]:
    """Export the model to ONNX and run ORT's BERT optimizer; return the optimized file and what was fused."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as exc:
        raise PeerUnavailable(f"onnxruntime not installed ({exc})") from exc
    if package_version("torch") is None or package_version("onnx") is None:
        raise PeerUnavailable("exporting to ONNX needs torch and onnx")
    raw = work_dir / "model.onnx"
    optimized = work_dir / "model.opt.onnx"
    exporter = export_onnx(model_dir, raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = optimize_model(str(raw), model_type="bert", num_heads=num_heads, hidden_size=hidden_size)
    fused = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
    opt.save_model_to_file(str(optimized))
    del opt
    raw.unlink(missing_ok=True)
    return optimized, {"exporter": exporter, "fused_operators": fused}


class OrtPeer:
    """ONNX Runtime CPU, fp32, on the graph from onnxruntime.transformers' BERT optimizer."""

    name = "onnxruntime"

    def __init__(
        self, model_dir: Path, work_dir: Path, threads: int, num_heads: int, hidden_size: int,
        prepared: tuple[Path, dict[str, Any]] | None = None,
    ) -> None:  # fmt: skip
        """``prepared``: the result of :func:`prepare_ort_model` when the graph was optimized already."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise PeerUnavailable(f"onnxruntime not installed ({exc})") from exc
        optimized, info = prepared or prepare_ort_model(model_dir, work_dir, num_heads, hidden_size)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(optimized), so, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.info = {**info, "providers": self.session.get_providers()}

    def __call__(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        out = self.session.run(["last_hidden_state"], {n: feeds[n] for n in self.input_names})
        return np.asarray(out[0])
