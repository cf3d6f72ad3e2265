#!/usr/bin/env python3
"""train_tokenizer.py: trains the specd byte-level BPE tokenizer and tokenizes the corpus.

Runs on the GPU machine (needs the `tokenizers` package), first step of run_on_gpu.sh.
Input: the archive made by pack_corpus.sh. Files are split deterministically by path:
    sha1(path) % 20 == 0  -> "test"  (held out; evaluate.py reports on it)
    sha1(path) % 20 == 1  -> "val"   (held out; train_model.py only picks its best checkpoint on it)
    otherwise             -> "train" (the tokenizer and the models are trained on these only)
Tokenizer: BPE over bytes (ByteLevel pre-tokenizer without prefix space, ByteLevel decoder),
special tokens <|bos|> <|eos|> <|endoftext|> <|pad|>, and a post-processor that puts <|bos|> in
front of a single sequence. In the token streams every source file becomes
    <|bos|> file tokens <|eos|> <|endoftext|>
so the models learn to end a file with <|eos|> (the stop token) and <|endoftext|> separates files.
Outputs in --out-dir: tokenizer.json, manifest.json, tokens_{train,val,test}.npy (uint16).
"""
import argparse
import hashlib
import json
import os
import tarfile
import time

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

BOS, EOS, EOT, PAD = "<|bos|>", "<|eos|>", "<|endoftext|>", "<|pad|>"
SPECIALS = [BOS, EOS, EOT, PAD]
SPLITS = ("train", "val", "test")


def split_of(path):
    h = int(hashlib.sha1(path.encode("utf-8")).hexdigest(), 16) % 20
    return "test" if h == 0 else "val" if h == 1 else "train"


def read_corpus(tar_path):
    """Returns {path: text} for the non-empty .py files of the archive, sorted by path."""
    files = {}
    with tarfile.open(tar_path, "r:gz") as tf:
        for m in tf.getmembers():
            if not (m.isfile() and m.name.endswith(".py")):
                continue
            name = m.name[2:] if m.name.startswith("./") else m.name
            text = tf.extractfile(m).read().decode("utf-8", errors="replace")
            if text.strip():
                files[name] = text
    return dict(sorted(files.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, help="python_stdlib.tar.gz from pack_corpus.sh")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--vocab-size", type=int, default=8192)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.time()

    files = read_corpus(args.corpus)
    split = {s: [p for p in files if split_of(p) == s] for s in SPLITS}
    print(f"corpus: {len(files)} files; " + ", ".join(f"{s} {len(split[s])}" for s in SPLITS))

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=args.vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([files[p] for p in split["train"]], trainer=trainer,
                            length=len(split["train"]))
    ids = {t: tok.token_to_id(t) for t in SPECIALS}
    assert all(i is not None for i in ids.values()), ids
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B:1", special_tokens=[(BOS, ids[BOS])])
    tok_path = os.path.join(args.out_dir, "tokenizer.json")
    tok.save(tok_path)
    tok = Tokenizer.from_file(tok_path)  # use exactly what was saved from here on
    vocab = tok.get_vocab_size()
    print(f"tokenizer: vocab {vocab} (asked {args.vocab_size}), specials {ids}, "
          f"{time.time() - t0:.1f}s")
    if vocab != args.vocab_size:
        print(f"WARNING: vocab size {vocab} != {args.vocab_size}")
    assert tok.encode("x = 1").ids[0] == ids[BOS], "post-processor must prepend <|bos|>"

    manifest = {
        "corpus_sha256": hashlib.sha256(open(args.corpus, "rb").read()).hexdigest(),
        "split_rule": "sha1(path) % 20: 0 -> test, 1 -> val, else train",
        "vocab_size": vocab,
        "special_ids": ids,
        "doc_layout": f"{BOS} text {EOS} {EOT}",
        "splits": {},
    }
    roundtrip_failures = []
    for s in SPLITS:
        paths = split[s]
        encs = tok.encode_batch([files[p] for p in paths], add_special_tokens=False)
        stream = []
        for p, e in zip(paths, encs):
            stream += [ids[BOS]] + e.ids + [ids[EOS], ids[EOT]]
            if tok.decode(e.ids, skip_special_tokens=False) != files[p]:
                roundtrip_failures.append(p)
        arr = np.asarray(stream, dtype=np.uint16)
        assert int(arr.max()) < vocab
        np.save(os.path.join(args.out_dir, f"tokens_{s}.npy"), arr)
        nbytes = sum(len(files[p].encode("utf-8")) for p in paths)
        manifest["splits"][s] = {"files": paths, "num_files": len(paths),
                                 "tokens": int(arr.size), "bytes": nbytes}
        print(f"{s}: {len(paths)} files, {nbytes} bytes, {arr.size} tokens "
              f"({nbytes / arr.size:.2f} bytes/token)")
    manifest["roundtrip_failures"] = roundtrip_failures
    if roundtrip_failures:
        print(f"WARNING: decode(encode(text)) != text for {len(roundtrip_failures)} files, "
              f"e.g. {roundtrip_failures[:3]}")
    manifest["seconds"] = round(time.time() - t0, 2)
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"done in {manifest['seconds']}s -> {args.out_dir}")


if __name__ == "__main__":
    main()
