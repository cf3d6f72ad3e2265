#!/usr/bin/env python3
"""Writes Hugging Face `tokenizers` reference data for specd's tokenizer tests.

Trains two small BPE models with `tokenizers` itself, derives five tokenizer.json variants from
them and records what `tokenizers` makes of a varied text set:

    tests/data/tokenizers/texts.json                 the texts
    tests/data/tokenizers/<variant>/tokenizer.json   the tokenizer
    tests/data/tokenizers/<variant>/expected.json    {"cases": [{"text", "ids_with_special",
                                                       "ids_without_special", "decoded"}]}

Variants: gpt2_bytelevel, llama3_style, qwen2_style (byte-level BPE) and metaspace,
sentencepiece_legacy (Metaspace BPE with byte fallback). tests/unit/tokenizer/hf_reference_test.cc
checks specd's tokenizer against these files.

Usage (needs only `tokenizers`, no network):
    python3 tools/reference/make_tokenizer_references.py [--out tests/data/tokenizers]

The training corpus is the ASCII lines of this Python's standard library sources (sorted file
order) plus the multilingual lines below, so a run is deterministic for a given Python version.
Expected outputs are always computed from the tokenizer.json files as saved, so the data is
self-consistent whatever the corpus.
"""

import argparse
import json
import sysconfig
from pathlib import Path

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                        pre_tokenizers, processors, trainers)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "tokenizers"

VOCAB_SIZE = 1000
CORPUS_STDLIB_BYTES = 400_000
PROSE_REPEATS = 20
METASPACE = "\u2581"

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

SENTENCEPIECE_SPECIALS = ["<unk>", "<s>", "</s>"]

# Multilingual training lines (besides the stdlib code).
PROSE = [
    "The quick brown fox jumps over the lazy dog. It wasn't the first time, and it won't be "
    "the last.",
    "Tokenizers turn text into numbers; models turn numbers into more numbers.",
    "She said: \"Don't worry, I'LL be there at 10:30 on 2024-05-17.\"",
    "Le cœur a ses raisons que la raison ne connaît point. Ça va très bien, merci !",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein. Straße, Größe, Fuß.",
    "¿Dónde está la biblioteca? Mañana vamos a la playa con los niños.",
    "Москва — столица России. Привет, как дела?",
    "Η γλώσσα μου έδωσαν ελληνική. Καλημέρα σας!",
    "这是一个用于训练分词器的中文句子。我们今天去公园散步。",
    "日本語の文章も少し入れておきます。東京はとても大きな都市です。",
    "한국어 문장도 조금 있습니다. 오늘 날씨가 좋네요.",
    "مرحبا بكم في عالم المعالجة اللغوية. هذا نص عربي قصير.",
    "नमस्ते, आप कैसे हैं? यह एक छोटा वाक्य है।",
    "Emoji are text too 😀 😂 👍 🎉 ❤️ and so are symbols like € £ ¥ © ® ™ ° ± × ÷.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 2.71828 1,000,000",
    "\tIndented with a tab\n    and with four spaces\n\n\nand several newlines.",
]

# The texts the reference outputs are recorded for.
TEXTS = [
    "",
    "a",
    " ",
    "\n",
    "\u00e9",
    "\U0001F600",
    "<",
    METASPACE,
    "Hello world",
    "Hello, world! How are you doing today?",
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    \"\"\"Adds two numbers.\"\"\"\n    return a + b\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += v[i];\n}\n",
    "{\"key\": [1, 2, 3], \"nested\": {\"x\": null, \"y\": true}}",
    "  two leading spaces",
    "trailing spaces   ",
    "multiple    spaces   between     words",
    "   ",
    "tabs\tbetween\t\twords\t",
    "line one\nline two\n\n\nline five\r\nwindows line\r\n",
    "\n\n\n",
    "  \n  \n\t\n",
    "I \u2764\ufe0f tokenizers \U0001F917",
    "family \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 emoji",
    "flags \U0001F1EB\U0001F1F7 \U0001F1EF\U0001F1F5 \U0001F1FA\U0001F1F8",
    "skin tone \U0001F44D\U0001F3FD keycap 1\ufe0f\u20e3",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u8fd9\u662f\u4e00\u4e2a\u6d4b\u8bd5\u3002",
    "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca",
    "\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4",
    "\u9f98\u9f8d\u7228 rare CJK",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
    "caf\u00e9 (precomposed) vs cafe\u0301 (decomposed)",
    "\u00c5ngstr\u00f6m vs A\u030angstro\u0308m",
    "e\u0301\u0302\u0323 stacked marks",
    "\u1112\u1161\u11ab jamo vs \ud55c syllable",
    "ma\u00f1ana \u00fcber na\u00efve r\u00e9sum\u00e9 \u0130stanbul",
    "\U0001D518\U0001D52B\U0001D526\U0001D520\U0001D52C\U0001D521\U0001D522 \U00013000",
    "\ufb01 ligature and \u2460 circled",
    "looks like bytes: \\xff\\xfe and b'\\x00\\x01'",
    "\ufffd",
    "a\ufffdb replacement char",
    "a\x00b nul and \x1b[31mred\x1b[0m escapes",
    "zero\u200bwidth space, \u200d joiner, \ufeffBOM",
    "a\u180eb mongolian vowel separator",
    "nbsp\u00a0here, ideographic\u3000space, line\u2028separator, next\u0085line",
    "<|endoftext|>",
    "hello<|endoftext|>world",
    "<|endoftext|><|endoftext|>",
    "<|begin_of_text|>Hi there<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    "<|im_start|>assistant\n",
    "<|im_start|><|im_end|>",
    "call <tool_call>{\"name\": \"f\"}</tool_call>",
    "fill <|mask|> here and  <|mask|>  there",
    "<s>Hello</s>",
    "<s> spaced </s>",
    "<unk> literal",
    "not special: <|endoftext| and <s",
    "don't I'LL we'VE they're it's 's 'S",
    "1234567890123456789012345",
    "3.14159265358979 and 1,000,000 and v2.0.1-rc3",
    "0000000",
    "HELLO World hello WORLD",
    "The quick brown fox. " * 30,
]


def stdlib_ascii_lines():
    """ASCII lines of the standard library's top-level modules, in sorted file order."""
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.splitlines(keepends=True):
            if line.isascii():
                yield line


def build_corpus():
    lines = []
    size = 0
    for line in stdlib_ascii_lines():
        lines.append(line)
        size += len(line)
        if size >= CORPUS_STDLIB_BYTES:
            break
    for _ in range(PROSE_REPEATS):
        lines.extend(line + "\n" for line in PROSE)
    return lines


def edit_json(tokenizer, edit):
    """A copy of `tokenizer` with `edit` applied to its JSON form."""
    data = json.loads(tokenizer.to_str())
    edit(data)
    return Tokenizer.from_str(json.dumps(data))


def train_byte_level(corpus):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return tokenizer


def train_metaspace(corpus):
    """A Metaspace BPE with <0x00>..<0xFF> in the vocabulary and byte fallback."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE,
                                                       prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
                                  special_tokens=SENTENCEPIECE_SPECIALS)
    tokenizer.train_from_iterator(corpus, trainer=trainer)

    def add_byte_tokens(data):
        model = data["model"]
        byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
        skip = set(SENTENCEPIECE_SPECIALS) | set(byte_tokens)
        trained = [token for token, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
        ordered = SENTENCEPIECE_SPECIALS + byte_tokens + [t for t in trained if t not in skip]
        model["vocab"] = {token: i for i, token in enumerate(ordered)}
        model.update(unk_token="<unk>", byte_fallback=True, fuse_unk=True, dropout=None)
        for added in data["added_tokens"]:
            added["id"] = model["vocab"][added["content"]]

    return edit_json(tokenizer, add_byte_tokens)


def template(tokenizer, bos):
    return processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B:1",
        special_tokens=[(bos, tokenizer.token_to_id(bos))])


def byte_level_split(pattern):
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])


def make_gpt2_bytelevel(byte_level):
    tokenizer = Tokenizer.from_str(byte_level.to_str())
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def make_llama3_style(byte_level):
    tokenizer = Tokenizer.from_str(byte_level.to_str())
    tokenizer.pre_tokenizer = byte_level_split(LLAMA3_PATTERN)
    tokenizer = edit_json(tokenizer, lambda data: data["model"].update(ignore_merges=True))
    tokenizer.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>",
                                  "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"])
    tokenizer.add_tokens([AddedToken("<|mask|>", lstrip=True, rstrip=True, normalized=False,
                                     special=True)])
    tokenizer.post_processor = template(tokenizer, "<|begin_of_text|>")
    return tokenizer


def make_qwen2_style(byte_level):
    tokenizer = Tokenizer.from_str(byte_level.to_str())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = byte_level_split(QWEN2_PATTERN)
    tokenizer.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    tokenizer.add_tokens([AddedToken("<tool_call>", normalized=False),
                          AddedToken("caf\u00e9", normalized=True)])
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def make_metaspace(sentencepiece):
    tokenizer = Tokenizer.from_str(sentencepiece.to_str())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE,
                                                       prepend_scheme="first", split=False)
    tokenizer.decoder = decoders.Sequence([
        decoders.Metaspace(replacement=METASPACE, prepend_scheme="first", split=False),
        decoders.ByteFallback(),
        decoders.Fuse(),
    ])
    tokenizer.post_processor = template(tokenizer, "<s>")
    return tokenizer


def make_sentencepiece_legacy(sentencepiece):
    tokenizer = Tokenizer.from_str(sentencepiece.to_str())
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend(METASPACE),
                                                 normalizers.Replace(" ", METASPACE)])
    tokenizer = edit_json(tokenizer, lambda data: data.update(pre_tokenizer=None))
    tokenizer.decoder = decoders.Sequence([
        decoders.Replace(METASPACE, " "),
        decoders.ByteFallback(),
        decoders.Fuse(),
        decoders.Strip(" ", 1, 0),
    ])
    tokenizer.post_processor = template(tokenizer, "<s>")
    return tokenizer


def reference_cases(tokenizer):
    cases = []
    for text in TEXTS:
        without_special = tokenizer.encode(text, add_special_tokens=False).ids
        cases.append({
            "text": text,
            "ids_with_special": tokenizer.encode(text, add_special_tokens=True).ids,
            "ids_without_special": without_special,
            "decoded": tokenizer.decode(without_special, skip_special_tokens=False),
        })
    return cases


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    args = parser.parse_args()

    corpus = build_corpus()
    byte_level = train_byte_level(corpus)
    sentencepiece = train_metaspace(corpus)
    variants = {
        "gpt2_bytelevel": make_gpt2_bytelevel(byte_level),
        "llama3_style": make_llama3_style(byte_level),
        "qwen2_style": make_qwen2_style(byte_level),
        "metaspace": make_metaspace(sentencepiece),
        "sentencepiece_legacy": make_sentencepiece_legacy(sentencepiece),
    }

    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "texts.json", TEXTS)
    for name, tokenizer in variants.items():
        directory = args.out / name
        directory.mkdir(exist_ok=True)
        tokenizer.save(str(directory / "tokenizer.json"))
        # Reference outputs come from the file as saved, exactly what the C++ test loads.
        saved = Tokenizer.from_file(str(directory / "tokenizer.json"))
        write_json(directory / "expected.json", {"cases": reference_cases(saved)})
        print(f"{name}: vocab {saved.get_vocab_size(with_added_tokens=True)}, "
              f"{len(TEXTS)} cases -> {directory}")


if __name__ == "__main__":
    main()
