"""The low-precision peers of bench_forward.py (``--dtype bfloat16|int8``) and bench_quality.py.

Same contract as ``_peers``: each loads one Hugging Face model directory and maps numpy int64 feeds
(``input_ids``, ``attention_mask``, ``token_type_ids``) to ``last_hidden_state`` as float32 numpy, and raises
``PeerUnavailable`` from its constructor when its packages are missing or it cannot load the model.

  * ``onnxruntime-int8``  ``onnxruntime.quantization.quantize_dynamic`` (QInt8 weights, per-tensor, dynamic
                          uint8 activations) of the graph from ``onnxruntime.transformers.optimizer``
  * ``ctranslate2-int8``  ``ctranslate2.converters.TransformersConverter(...).convert(quantization="int8")``,
                          ``ctranslate2.Encoder(compute_type="int8", intra_threads=T)``
  * ``openvino``          the ONNX export read by ``openvino.Core``, compiled for "CPU" with only
                          ``INFERENCE_NUM_THREADS`` set: its default precision (bf16 on a CPU with AVX-512 BF16)
  * ``torch-bf16``        ``transformers.BertModel`` under ``torch.autocast("cpu", dtype=torch.bfloat16)``
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _peers import Feeds, OrtPeer, PeerUnavailable, TorchPeer, export_onnx, prepare_ort_model


class TorchBf16Peer(TorchPeer):
    """transformers.BertModel under ``torch.inference_mode`` and ``torch.autocast("cpu", bfloat16)``."""

    name = "torch-bf16"

    def __init__(self, model_dir: Path) -> None:
        super().__init__(model_dir)
        self.info["autocast"] = "cpu/bfloat16"

    def __call__(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        torch = self._torch
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = self.model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        return out.last_hidden_state.float().numpy()


def quantize_ort_int8(optimized: Path, out: Path) -> None:
    """``quantize_dynamic`` with QInt8 weights (ORT's defaults otherwise: per-tensor, uint8 activations).

    ``DefaultTensorType`` float: ONNX shape inference gives no type to the outputs of the optimizer's
    com.microsoft operators, and without a default the quantizer refuses the MatMuls that follow them.
    """
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise PeerUnavailable(f"onnxruntime.quantization not available ({exc})") from exc
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        quantize_dynamic(
            str(optimized), str(out), weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip


class OrtInt8Peer(OrtPeer):
    """ONNX Runtime CPU on the optimized BERT graph, dynamically quantized to int8 weights."""

    name = "onnxruntime-int8"

    def __init__(
        self, model_dir: Path, work_dir: Path, threads: int, num_heads: int, hidden_size: int
    ) -> None:
        optimized, info = prepare_ort_model(model_dir, work_dir, num_heads, hidden_size)
        quantized = work_dir / "model.opt.int8.onnx"
        quantize_ort_int8(optimized, quantized)
        info = {**info, "quantization": "quantize_dynamic, weight_type=QInt8"}
        super().__init__(model_dir, work_dir, threads, num_heads, hidden_size, prepared=(quantized, info))


class Ct2Peer:
    """CTranslate2's Encoder on a converted int8 model; ids go in as a dense int32 array with lengths.

    Token type ids are not passed (CTranslate2 then uses 0, which is what the benchmarks feed).
    """

    name = "ctranslate2-int8"

    def __init__(self, model_dir: Path, work_dir: Path, threads: int, compute_type: str = "int8") -> None:
        try:
            import ctranslate2
        except ImportError as exc:
            raise PeerUnavailable(f"ctranslate2 not installed ({exc})") from exc
        out = work_dir / f"ct2-{compute_type}"
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                converter = ctranslate2.converters.TransformersConverter(str(model_dir))
                converter.convert(str(out), quantization=compute_type, force=True)
        except Exception as exc:  # the converter raises many kinds; any of them means "cannot run this model"
            raise PeerUnavailable(f"CTranslate2's converter failed: {type(exc).__name__}: {exc}") from exc
        self._ct2 = ctranslate2
        self.encoder = ctranslate2.Encoder(
            str(out), device="cpu", compute_type=compute_type, inter_threads=1, intra_threads=threads
        )
        self.info = {"compute_type": self.encoder.compute_type, "intra_threads": threads}

    def __call__(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        ct2 = self._ct2
        ids = ct2.StorageView.from_array(np.ascontiguousarray(feeds["input_ids"], dtype=np.int32))
        lengths = ct2.StorageView.from_array(feeds["attention_mask"].sum(axis=1, dtype=np.int32))
        out = self.encoder.forward_batch(ids, lengths)
        return np.array(out.last_hidden_state, dtype=np.float32)


class OpenVinoPeer:
    """OpenVINO CPU plugin at its default precision on the ONNX export (dynamic batch and sequence)."""

    name = "openvino"

    def __init__(self, model_dir: Path, work_dir: Path, threads: int) -> None:
        try:
            import openvino as ov
        except ImportError as exc:
            raise PeerUnavailable(f"openvino not installed ({exc})") from exc
        onnx_path = work_dir / "model.ov.onnx"
        exporter = export_onnx(model_dir, onnx_path)
        core = ov.Core()
        model = core.read_model(str(onnx_path))
        self.compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads})
        self.request = self.compiled.create_infer_request()
        self.input_names = [p.get_any_name() for p in self.compiled.inputs]
        self.info: dict[str, Any] = {
            "exporter": exporter,
            "openvino": ov.get_version(),
            **{k: _ov_str(self.compiled.get_property(k)) for k in _OV_PROPERTIES},
        }

    def __call__(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        result = self.request.infer({n: feeds[n] for n in self.input_names})
        return np.asarray(result["last_hidden_state"], dtype=np.float32)


_OV_PROPERTIES = ("INFERENCE_PRECISION_HINT", "INFERENCE_NUM_THREADS", "NUM_STREAMS", "PERFORMANCE_HINT")


def _ov_str(value: Any) -> str:
    """An OpenVINO property as text ("bf16" rather than "<Type: 'bfloat16'>")."""
    to_string = getattr(value, "to_string", None)
    return str(to_string() if callable(to_string) else value)
