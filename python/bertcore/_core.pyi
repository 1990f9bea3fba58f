"""Type stubs for bertcore's native module (private: use the bertcore package)."""

from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
U16 = npt.NDArray[np.uint16]

class PackedLinear:
    """A dense layer's weight [out, in] and bias, packed once for one kernel family's GEMM."""

    def __init__(
        self,
        weight: F32,
        bias: Optional[F32] = None,
        isa: str = "",
        dtype: str = "float32",
        outliers: int = 0,
    ) -> None: ...
    @property
    def dtype(self) -> str: ...
    @property
    def outliers(self) -> int: ...
    @property
    def scales(self) -> F32: ...
    @property
    def out_features(self) -> int: ...
    @property
    def in_features(self) -> int: ...
    @property
    def isa(self) -> str: ...
    @property
    def nbytes(self) -> int: ...
    def unpack(self) -> F32: ...

class FloatTensor:
    """A float32 array copied into the core's memory; an Encoder takes it over (it is empty afterwards)."""

    def __init__(self, array: F32) -> None: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def nbytes(self) -> int: ...

class EncoderConfig:
    """The encoder's sizes and settings, by name (0 for a table the family lacks)."""

    hidden: int
    heads: int
    layers: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    task_type_vocab: int
    embedding_size: int
    eps: float
    absolute_positions: bool
    relative_attention: int
    attention_bf16: bool
    activation: str
    def __init__(self) -> None: ...

class EncoderLayer:
    """One transformer layer's weights, by name; packed linears are shared, vectors copied."""

    def __init__(
        self,
        *,
        qkv: PackedLinear,
        attn_out: PackedLinear,
        ffn_in: PackedLinear,
        ffn_out: PackedLinear,
        ln1_gamma: F32,
        ln1_beta: F32,
        ln2_gamma: F32,
        ln2_beta: F32,
        distance: Optional[PackedLinear] = None,
    ) -> None: ...
    @property
    def qkv(self) -> PackedLinear: ...
    @property
    def attn_out(self) -> PackedLinear: ...
    @property
    def ffn_in(self) -> PackedLinear: ...
    @property
    def ffn_out(self) -> PackedLinear: ...
    @property
    def distance(self) -> Optional[PackedLinear]: ...
    ln1_gamma: F32
    ln1_beta: F32
    ln2_gamma: F32
    ln2_beta: F32

class Encoder:
    """The encoder core; built by bertcore's model classes."""

    def __init__(
        self,
        config: EncoderConfig,
        *,
        word: Union[F32, FloatTensor, U16, I8],
        word_scale: Optional[F32] = None,
        position: Optional[F32],
        token_type: Optional[F32],
        task_type: Optional[F32],
        norm_weight: F32,
        norm_bias: F32,
        layers: List[EncoderLayer],
        pooler: Optional[PackedLinear],
        projection: Optional[PackedLinear],
        isa: str,
    ) -> None: ...
    def forward(
        self,
        *,
        ids: I64,
        type_ids: I64,
        task_ids: Optional[I64],
        pos_ids: I64,
        row_pos: Optional[I64],
        segments: I64,
        key_mask_add: Optional[F32],
        seq: int,
        last_hidden: F32,
        pooled: Optional[F32],
        hidden_states: Optional[List[F32]],
        attentions: Optional[List[F32]],
        num_threads: int,
    ) -> None: ...
    @property
    def config(self) -> EncoderConfig: ...
    @property
    def isa(self) -> str: ...
    @property
    def has_pooler(self) -> bool: ...
    @property
    def workspace_bytes(self) -> int: ...
    @property
    def weight_bytes(self) -> int: ...
    def scratch_bytes(self, *, rows: int, batch: int, seq: int, num_threads: int) -> int: ...
    def release_workspace(self) -> None: ...

def _set_fork_pool_release(enabled: bool) -> None: ...
def cpu_info() -> Dict[str, Any]: ...
def active_isa() -> str: ...
def set_isa(name: str) -> None: ...
def isa_from_environment() -> str: ...
def fma_peak_gflops(isa: str = "", num_threads: int = 1, seconds: float = 0.3) -> float: ...
def peak_gops(kind: str, isa: str = "", num_threads: int = 1, seconds: float = 0.3) -> float: ...
def quantize_rows(x: F32, unsigned_a: bool = False, isa: str = "") -> Tuple[I8, F32]: ...
def largest_inputs(
    x: F32, ko: int, isa: str = ""
) -> Tuple[npt.NDArray[np.int32], F32, npt.NDArray[np.int32]]: ...
def bf16_bits(x: F32, isa: str = "") -> U16: ...
def openmp_max_threads() -> int: ...
def gemm_blocking(isa: str = "") -> Dict[str, int]: ...
def activation_names() -> List[str]: ...
def linear(
    x: F32,
    weight: PackedLinear,
    activation: str = "identity",
    residual: Optional[F32] = None,
    num_threads: int = 1,
) -> F32: ...
def linear_bf16_chain(
    x: F32,
    first: PackedLinear,
    second: PackedLinear,
    activation: str = "identity",
    residual: Optional[F32] = None,
    num_threads: int = 1,
) -> Tuple[npt.NDArray[np.uint16], F32]: ...
def layer_norm(x: F32, gamma: F32, beta: F32, eps: float, isa: str = "", num_threads: int = 1) -> F32: ...
def activation(x: F32, name: str, isa: str = "", num_threads: int = 1) -> F32: ...
def softmax(x: F32, isa: str = "", num_threads: int = 1) -> F32: ...
def attention(
    qkv: F32,
    batch: int,
    seq: int,
    heads: int,
    mask_add: F32,
    scale: float,
    output_probs: bool = False,
    dtype: str = "float32",
    isa: str = "",
    num_threads: int = 1,
) -> Tuple[F32, Optional[F32]]: ...
def embeddings(
    ids: I64,
    type_ids: I64,
    pos_ids: Optional[I64],
    word: F32,
    position: Optional[F32],
    token_type: F32,
    gamma: F32,
    beta: F32,
    eps: float,
    isa: str = "",
    num_threads: int = 1,
) -> F32: ...
