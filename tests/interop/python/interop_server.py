#!/usr/bin/python3
"""grpcio implementation of interop.v1.TestService (see ../protos/interop/v1/test.proto).

Prints `LISTENING <port>` once serving; exits on SIGTERM/SIGINT or when stdin reaches EOF.
"""

import argparse
import gzip
import signal
import sys
import threading
from concurrent import futures

import grpc

import interop_gen

SERVICE = "interop.v1.TestService"
MAX_RECEIVE = 4 * 1024 * 1024  # grpcio's default; enforced again after our own gunzip
ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
CODES = {code.value[0]: code for code in grpc.StatusCode}

pb2 = None  # set in main() once the code is generated


def decoder(message_type):
    """Request deserializer returning (message, arrived_compressed).

    The server runs with per-message decompression disabled, because grpcio hides both the
    per-message compressed flag and the grpc-encoding header from handlers. A compressed message
    therefore reaches us as gzip bytes; a protobuf message can never start with 0x1f (wire type 7),
    so the gzip magic is an unambiguous signal.
    """

    def decode(raw):
        compressed = raw[:2] == b"\x1f\x8b"
        if compressed:
            raw = gzip.decompress(raw)
        if len(raw) > MAX_RECEIVE:
            return None, compressed
        return message_type.FromString(raw), compressed

    return decode


def encode(message):
    return message.SerializeToString()


def check_size(item, context):
    message, _ = item
    if message is None:
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "decompressed message larger than 4 MiB")
    return item


def zeros(size, context):
    if size < 0:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"negative size {size}")
    return pb2.Payload(body=bytes(size))


def abort_if_requested(request, context):
    if request.HasField("response_status") and request.response_status.code != 0:
        status = request.response_status
        context.abort(CODES.get(status.code, grpc.StatusCode.UNKNOWN), status.message)


def echo_metadata(context):
    metadata = dict(context.invocation_metadata())
    if ECHO_INITIAL in metadata:
        context.send_initial_metadata(((ECHO_INITIAL, metadata[ECHO_INITIAL]),))
    if ECHO_TRAILING in metadata:
        context.set_trailing_metadata(((ECHO_TRAILING, metadata[ECHO_TRAILING]),))


def wait_unless_done(context, seconds):
    """Waits `seconds`, returning early (False) if the call is cancelled or its deadline passes."""
    if seconds <= 0:
        return context.is_active()
    done = threading.Event()
    if not context.add_callback(done.set):
        return False
    done.wait(seconds)
    return context.is_active()


def empty_call(item, context):
    check_size(item, context)
    return pb2.Empty()


def unary_call(item, context):
    request, compressed = check_size(item, context)
    echo_metadata(context)
    if request.expect_compressed and not compressed:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "expected a compressed request")
    abort_if_requested(request, context)
    if not wait_unless_done(context, request.sleep_ms / 1000.0):
        return pb2.SimpleResponse()  # the call is over; nobody will read this
    if request.response_compressed:
        context.set_compression(grpc.Compression.Gzip)
    return pb2.SimpleResponse(payload=zeros(request.response_size, context))


def stream_responses(request, context):
    abort_if_requested(request, context)
    for params in request.response_parameters:
        if not wait_unless_done(context, params.interval_us / 1e6):
            return
        yield pb2.StreamingOutputCallResponse(payload=zeros(params.size, context))


def streaming_output_call(item, context):
    request, _ = check_size(item, context)
    yield from stream_responses(request, context)


def streaming_input_call(items, context):
    total = 0
    for item in items:
        request, _ = check_size(item, context)
        total += len(request.payload.body)
    return pb2.StreamingInputCallResponse(aggregated_payload_size=total)


def full_duplex_call(items, context):
    echo_metadata(context)
    for item in items:
        request, _ = check_size(item, context)
        yield from stream_responses(request, context)


def service_handler():
    def unary(fn, req):
        return grpc.unary_unary_rpc_method_handler(fn, decoder(req), encode)

    return grpc.method_handlers_generic_handler(SERVICE, {
        "EmptyCall": unary(empty_call, pb2.Empty),
        "UnaryCall": unary(unary_call, pb2.SimpleRequest),
        "StreamingOutputCall": grpc.unary_stream_rpc_method_handler(
            streaming_output_call, decoder(pb2.StreamingOutputCallRequest), encode),
        "StreamingInputCall": grpc.stream_unary_rpc_method_handler(
            streaming_input_call, decoder(pb2.StreamingInputCallRequest), encode),
        "FullDuplexCall": grpc.stream_stream_rpc_method_handler(
            full_duplex_call, decoder(pb2.StreamingOutputCallRequest), encode),
        # UnimplementedCall is deliberately absent: grpcio answers UNIMPLEMENTED.
    })


def main():
    global pb2
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--gen-dir", help="where to generate code (default: a temporary directory)")
    parser.add_argument("--ignore-stdin", action="store_true",
                        help="do not exit when stdin reaches EOF (for running in the background)")
    args = parser.parse_args()
    pb2, _ = interop_gen.load(args.gen_dir)

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=64),
        handlers=[service_handler()],
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.per_message_decompression", 0),  # see decoder()
            ("grpc.max_receive_message_length", MAX_RECEIVE),
        ],
    )
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    if port == 0:
        print(f"cannot bind {args.host}:{args.port}", file=sys.stderr)
        return 1
    server.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not args.ignore_stdin:
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), stop.set()), daemon=True).start()

    print(f"LISTENING {port}", flush=True)
    while not stop.wait(0.5):  # a timed wait keeps signal handlers responsive
        pass
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
