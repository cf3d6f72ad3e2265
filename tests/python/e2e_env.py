"""Where the end-to-end tests find specd, and what they share within one test process.

Environment (set by ctest, see tests/CMakeLists.txt):
  SPECD_BIN_DIR     the build's bin/ folder (specd, specd-model, specd-cli)
  SPECD_SOURCE_DIR  the repository root (proto/, configs/)
  SPECD_PROTOC, SPECD_GRPC_PYTHON_PLUGIN  protoc and grpc_python_plugin (default: from PATH,
                    /usr/bin/grpc_python_plugin)
Without them the tests fall back to this checkout and its build/bin.

Set SPECD_E2E_KEEP=1 to keep the scratch folder (server logs) after the run.

Everything here is made once per process, lazily, in one temporary folder that is removed at
exit: the Python stubs (generated with protoc from proto/specd/v1/*.proto and health.proto,
never committed) and the tiny random model.
"""

import atexit
import functools
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))

SOURCE_DIR = os.environ.get("SPECD_SOURCE_DIR", os.path.normpath(os.path.join(_HERE, "..", "..")))
BIN_DIR = os.environ.get("SPECD_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
SERVE_CONFIG = os.path.join(SOURCE_DIR, "configs", "serve_cpu.json")
PROTOC = os.environ.get("SPECD_PROTOC", "protoc")
GRPC_PYTHON_PLUGIN = os.environ.get("SPECD_GRPC_PYTHON_PLUGIN", "/usr/bin/grpc_python_plugin")

# The tiny model: fast on two cores, with a context long enough for streams of a few seconds.
MODEL_FLAGS = ["--layers", "2", "--hidden", "64", "--heads", "4", "--max-position", "16384"]


def binary(name):
    """The path of a specd program in the build; fails loudly when it was not built."""
    path = os.path.join(BIN_DIR, name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} is missing: build it first (SPECD_BIN_DIR={BIN_DIR})")
    return path


@functools.lru_cache(maxsize=None)
def scratch_dir():
    """One temporary folder for this test process, removed at exit (kept, and its path printed,
    with SPECD_E2E_KEEP=1: the server logs are in it)."""
    path = tempfile.mkdtemp(prefix="specd_e2e_")
    if os.environ.get("SPECD_E2E_KEEP"):
        print(f"specd e2e scratch folder: {path}", file=sys.stderr)
    else:
        atexit.register(shutil.rmtree, path, True)
    return path


def _run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")


@functools.lru_cache(maxsize=None)
def tiny_model_dir():
    """A 2-layer, hidden-64 random Llama (vocab 512, byte-level BPE), made by specd-model."""
    out = os.path.join(scratch_dir(), "tiny_model")
    _run([binary("specd-model"), "make-random", "--out", out, *MODEL_FLAGS])
    return out


class Stubs:
    """The generated protobuf and gRPC modules, as attributes."""

    def __init__(self):
        out = os.path.join(scratch_dir(), "stubs")
        os.makedirs(out)
        protos = os.path.join(SOURCE_DIR, "proto")
        plugin = f"--plugin=protoc-gen-grpc={GRPC_PYTHON_PLUGIN}"
        specd_protos = [os.path.join(protos, "specd", "v1", n) for n in ("generation.proto", "admin.proto")]
        _run([PROTOC, "-I", protos, f"--python_out={out}", f"--grpc_out={out}", plugin, *specd_protos])
        # As a top-level module: a "grpc" package would be shadowed by grpcio's own.
        health_dir = os.path.join(protos, "grpc", "health", "v1")
        _run([PROTOC, "-I", health_dir, f"--python_out={out}", f"--grpc_out={out}", plugin,
              os.path.join(health_dir, "health.proto")])
        sys.path.insert(0, out)
        self.generation = importlib.import_module("specd.v1.generation_pb2")
        self.generation_grpc = importlib.import_module("specd.v1.generation_pb2_grpc")
        self.admin = importlib.import_module("specd.v1.admin_pb2")
        self.admin_grpc = importlib.import_module("specd.v1.admin_pb2_grpc")
        self.health = importlib.import_module("health_pb2")
        self.health_grpc = importlib.import_module("health_pb2_grpc")


@functools.lru_cache(maxsize=None)
def stubs():
    return Stubs()
