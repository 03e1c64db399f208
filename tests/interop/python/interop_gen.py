"""Generates python code for .proto files at run time and imports it.

Generated code is never committed: it goes to a fresh temporary directory (removed at exit),
or to the directory given with --gen-dir (kept, for inspection).

`load()` is the interop.v1 test service; `generate()` is the generic part (any proto root and
files, with the well-known types taken from the protobuf-compiler package's include directory).
"""

import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "protos"))
PROTO_FILE = "interop/v1/test.proto"
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"


def load(gen_dir=None):
    """Returns (test_pb2, test_pb2_grpc) for interop.v1, generating them first."""
    generate(PROTO_ROOT, [PROTO_FILE], gen_dir)
    pb2 = importlib.import_module("interop.v1.test_pb2")
    pb2_grpc = importlib.import_module("interop.v1.test_pb2_grpc")
    return pb2, pb2_grpc


def well_known_types_dir():
    """The include directory holding google/protobuf/*.proto (Debian: /usr/include), or None to leave
    it to protoc (which looks beside its own binary)."""
    protoc = shutil.which("protoc")
    candidates = []
    if protoc:
        candidates.append(os.path.join(os.path.dirname(os.path.realpath(protoc)), "..", "include"))
    candidates += ["/usr/include", "/usr/local/include"]
    for candidate in candidates:
        if os.path.isfile(os.path.join(candidate, "google", "protobuf", "struct.proto")):
            return os.path.normpath(candidate)
    return None


def generate(proto_root, files, gen_dir=None, extra_protos=None):
    """Runs protoc + the grpc python plugin on `files` (paths relative to `proto_root`) and makes the
    result importable. `extra_protos` maps more relative paths to proto source text (definitions the
    repository does not carry); they are written under the output directory and generated too.
    Returns the output directory."""
    if gen_dir:
        os.makedirs(gen_dir, exist_ok=True)
        out = os.path.abspath(gen_dir)
    else:
        out = tempfile.mkdtemp(prefix="interop-python-gen-")
        atexit.register(shutil.rmtree, out, True)
    proto_paths = [proto_root]
    files = list(files)
    if extra_protos:
        extra_root = os.path.join(out, "_protos")
        for relative, text in extra_protos.items():
            path = os.path.join(extra_root, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            files.append(relative)
        proto_paths.append(extra_root)
    wkt = well_known_types_dir()
    if wkt:
        proto_paths.append(wkt)
    cmd = ["protoc"]
    cmd += [f"--proto_path={p}" for p in proto_paths]
    cmd += [
        f"--plugin=protoc-gen-grpc_python={GRPC_PLUGIN}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
    ]
    cmd += files
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}): {result.stderr.strip()}")
    make_importable(out)
    return out


def make_importable(out):
    """Puts generated code in `out` on sys.path, beside the installed google.protobuf runtime."""
    sys.path.insert(0, out)
    importlib.invalidate_caches()
    google_dir = os.path.join(out, "google")
    if not os.path.isdir(google_dir):
        return
    # Generated google/api, google/rpc ... must live beside the system's google.protobuf. Debian's
    # `google` is a namespace package (no __init__.py), whose __path__ picks up <out>/google by itself
    # now that <out> is on sys.path; a regular `google` package (old pip protobuf) is extended by hand.
    import google
    if google_dir not in list(google.__path__):
        google.__path__.append(google_dir)
    import google.protobuf
    if os.path.commonpath([out, os.path.abspath(google.protobuf.__file__)]) == out:
        raise RuntimeError(f"google.protobuf resolved to generated code in {out}, not the installed runtime")
