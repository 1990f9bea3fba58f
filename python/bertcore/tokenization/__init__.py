"""The parts of `bertcore.tokenizer.AutoTokenizer`, one job per module.

- `loading.py`: a model directory's files -> `tokenizers.Tokenizer` + `TokenizerSettings`, as transformers
  loads them (tokenizer.json, or vocab.txt / vocab.json + merges.txt via `tokenizers.implementations`).
- `arguments.py`: checking and resolving call arguments (padding/truncation strategies, text shapes).
- `batch_encoding.py`: `BatchEncoding`, the call's output, built from `tokenizers.Encoding`s.
- `vocabulary.py`: special tokens, token <-> id lookups and decoding.
"""
