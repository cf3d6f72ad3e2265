"""Makes python_code.txt, the code-completion prompts of configs/workloads/code_completion.json:
held-out files of the bundled models' corpus (Debian 12's Python 3.11 standard library; these
files were kept out of training, see models/README.md), split before each top-level `def` or
`class` into documents separated by lines of "%%" (the text_file prompt source's default).

    /usr/bin/python3 bench/prompts/make_python_code.py [/usr/lib/python3.11] > bench/prompts/python_code.txt
"""

import re
import sys

FILES = ["asyncio/threads.py", "base64.py", "copy.py", "crypt.py", "gzip.py", "site.py", "uu.py", "xdrlib.py"]
TOP_LEVEL = re.compile(r"^(?=(?:def|class|async def) )", re.MULTILINE)
SEPARATOR = "%%"


def documents(text):
    """The file's pieces: the module header, then one per top-level definition."""
    return [piece for piece in TOP_LEVEL.split(text) if piece.strip()]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/python3.11"
    pieces = []
    for name in FILES:
        with open(f"{root}/{name}", encoding="utf-8") as f:
            pieces.extend(documents(f.read()))
    assert not any(line == SEPARATOR for piece in pieces for line in piece.splitlines())
    sys.stdout.write(f"\n{SEPARATOR}\n".join(piece.rstrip("\n") for piece in pieces) + "\n")


if __name__ == "__main__":
    main()
