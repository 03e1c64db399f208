"""Generates the python code for interop/v1/test.proto at run time and imports it.

Generated code is never committed: it goes to a fresh temporary directory (removed at exit),
or to the directory given with --gen-dir (kept, for inspection).
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
    if gen_dir:
        os.makedirs(gen_dir, exist_ok=True)
        out = os.path.abspath(gen_dir)
    else:
        out = tempfile.mkdtemp(prefix="interop-python-gen-")
        atexit.register(shutil.rmtree, out, True)
    cmd = [
        "protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--plugin=protoc-gen-grpc_python={GRPC_PLUGIN}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        PROTO_FILE,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}): {result.stderr.strip()}")
    sys.path.insert(0, out)
    pb2 = importlib.import_module("interop.v1.test_pb2")
    pb2_grpc = importlib.import_module("interop.v1.test_pb2_grpc")
    return pb2, pb2_grpc
