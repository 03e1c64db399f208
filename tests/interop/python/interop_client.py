#!/usr/bin/python3
"""grpcio client running the interop test cases against an interop.v1.TestService server.

Prints `PASS <case>` or `FAIL <case>: <reason>` per case; exits 0 only if every case passed.
"""

import argparse
import gzip
import sys
import time

import grpc

import interop_gen
from request_queue import Requests

DEADLINE = 30.0  # seconds, for every call unless a case says otherwise
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
REQUEST_SIZES = [27182, 8, 1828, 45904]
RESPONSE_SIZES = [31415, 9, 2653, 58979]

pb2 = pb2_grpc = None  # set in main() once the code is generated


class Failure(Exception):
    pass


def check(condition, reason):
    if not condition:
        raise Failure(reason)


def expect_code(expected, fn, message=None):
    """Runs fn(), which must fail with status `expected` (and details `message`, if given)."""
    try:
        fn()
    except grpc.RpcError as error:
        check(error.code() == expected, f"expected {expected.name}, got {error.code().name}: {error.details()!r}")
        if message is not None:
            check(error.details() == message, f"expected message {message!r}, got {error.details()!r}")
        return
    raise Failure(f"expected {expected.name}, but the call succeeded")


def zeros(size):
    return pb2.Payload(body=bytes(size))


def check_payload(payload, size, what="response"):
    check(len(payload.body) == size, f"{what} payload is {len(payload.body)} bytes, expected {size}")
    check(payload.body == bytes(size), f"{what} payload is not zero-filled")


def output_request(sizes, payload_size=0, status=None):
    return pb2.StreamingOutputCallRequest(
        response_parameters=[pb2.ResponseParameters(size=s) for s in sizes],
        payload=zeros(payload_size), response_status=status)


def next_response(call, what):
    try:
        return next(call)
    except StopIteration:
        raise Failure(f"stream ended before {what}") from None


# --- cases -------------------------------------------------------------------------------------

def empty_unary(stub):
    response = stub.EmptyCall(pb2.Empty(), timeout=DEADLINE)
    check(isinstance(response, pb2.Empty), f"unexpected response type {type(response).__name__}")


def large_unary(stub):
    response = stub.UnaryCall(pb2.SimpleRequest(response_size=314159, payload=zeros(271828)), timeout=DEADLINE)
    check_payload(response.payload, 314159)


def server_streaming(stub):
    responses = list(stub.StreamingOutputCall(output_request(RESPONSE_SIZES), timeout=DEADLINE))
    sizes = [len(r.payload.body) for r in responses]
    check(sizes == RESPONSE_SIZES, f"response sizes {sizes}, expected {RESPONSE_SIZES}")


def client_streaming(stub):
    requests = [pb2.StreamingInputCallRequest(payload=zeros(s)) for s in REQUEST_SIZES]
    response = stub.StreamingInputCall(iter(requests), timeout=DEADLINE)
    check(response.aggregated_payload_size == 74922,
          f"aggregated_payload_size {response.aggregated_payload_size}, expected 74922")


def ping_pong(stub):
    requests = Requests()
    call = stub.FullDuplexCall(requests, timeout=DEADLINE)
    try:
        for i, (request_size, response_size) in enumerate(zip(REQUEST_SIZES, RESPONSE_SIZES)):
            requests.send(output_request([response_size], request_size))
            check_payload(next_response(call, f"response {i}").payload, response_size, f"response {i}")
    finally:
        requests.close()
    extra = list(call)
    check(not extra, f"{len(extra)} unexpected extra responses")
    check(call.code() == grpc.StatusCode.OK, f"status {call.code().name}")


def empty_stream(stub):
    call = stub.FullDuplexCall(iter([]), timeout=DEADLINE)
    responses = list(call)
    check(not responses, f"{len(responses)} unexpected responses")
    check(call.code() == grpc.StatusCode.OK, f"status {call.code().name}")


def cancel_after_begin(stub):
    requests = Requests()
    future = stub.StreamingInputCall.future(requests, timeout=DEADLINE)
    try:
        future.cancel()
        code = future.code()
    finally:
        requests.close()
    check(code == grpc.StatusCode.CANCELLED, f"status {code.name}, expected CANCELLED")


def cancel_after_first_response(stub):
    requests = Requests()
    call = stub.FullDuplexCall(requests, timeout=DEADLINE)
    try:
        requests.send(output_request([31415], 27182))
        check_payload(next_response(call, "the first response").payload, 31415)
        call.cancel()
        code = call.code()
    finally:
        requests.close()
    check(code == grpc.StatusCode.CANCELLED, f"status {code.name}, expected CANCELLED")


def timeout_on_sleeping_server(stub):
    start = time.monotonic()
    expect_code(grpc.StatusCode.DEADLINE_EXCEEDED,
                lambda: stub.UnaryCall(pb2.SimpleRequest(sleep_ms=10000), timeout=0.5))
    elapsed = time.monotonic() - start
    check(elapsed < 5, f"took {elapsed:.1f} s to fail")


def _status_cases(stub, message):
    status = pb2.EchoStatus(code=2, message=message)
    expect_code(grpc.StatusCode.UNKNOWN,
                lambda: stub.UnaryCall(pb2.SimpleRequest(response_status=status), timeout=DEADLINE), message)
    return status


def status_code_and_message(stub):
    status = _status_cases(stub, "test status message")
    call = stub.FullDuplexCall(iter([output_request([], status=status)]), timeout=DEADLINE)
    expect_code(grpc.StatusCode.UNKNOWN, lambda: list(call), status.message)


def special_status_message(stub):
    _status_cases(stub, SPECIAL_MESSAGE)


def _check_echoes(call, what):
    initial = [v for k, v in call.initial_metadata() if k == ECHO_INITIAL[0]]
    check(initial == [ECHO_INITIAL[1]], f"{what}: initial metadata echo {initial}, expected {[ECHO_INITIAL[1]]}")
    trailing = [v for k, v in call.trailing_metadata() if k == ECHO_TRAILING[0]]
    check(trailing == [ECHO_TRAILING[1]], f"{what}: trailing metadata echo {trailing}, expected {[ECHO_TRAILING[1]]}")


def custom_metadata(stub):
    metadata = (ECHO_INITIAL, ECHO_TRAILING)
    request = pb2.SimpleRequest(response_size=314159, payload=zeros(271828))
    response, call = stub.UnaryCall.with_call(request, metadata=metadata, timeout=DEADLINE)
    check_payload(response.payload, 314159)
    _check_echoes(call, "UnaryCall")

    call = stub.FullDuplexCall(iter([output_request([314159], 271828)]), metadata=metadata, timeout=DEADLINE)
    responses = list(call)
    check(len(responses) == 1, f"FullDuplexCall: {len(responses)} responses, expected 1")
    check_payload(responses[0].payload, 314159)
    _check_echoes(call, "FullDuplexCall")


def unimplemented_method(stub):
    expect_code(grpc.StatusCode.UNIMPLEMENTED, lambda: stub.UnimplementedCall(pb2.Empty(), timeout=DEADLINE))


def unimplemented_service(stub):
    other = pb2_grpc.UnimplementedServiceStub(stub.channel)
    expect_code(grpc.StatusCode.UNIMPLEMENTED, lambda: other.UnimplementedCall(pb2.Empty(), timeout=DEADLINE))


def max_message_size(stub):
    request = pb2.SimpleRequest(response_size=1, payload=zeros(5 * 1024 * 1024))
    expect_code(grpc.StatusCode.RESOURCE_EXHAUSTED, lambda: stub.UnaryCall(request, timeout=DEADLINE))


def client_compressed_unary(stub):
    request = pb2.SimpleRequest(response_size=314159, payload=zeros(271828), expect_compressed=True)
    # Probe: the server must notice an uncompressed request when it expects a compressed one.
    expect_code(grpc.StatusCode.INVALID_ARGUMENT, lambda: stub.UnaryCall(request, timeout=DEADLINE))
    response = stub.UnaryCall(request, compression=grpc.Compression.Gzip, timeout=DEADLINE)
    check_payload(response.payload, 314159)


def server_compressed_unary(stub):
    # grpcio hides the per-message compressed flag, so this channel skips decompression and the
    # response arrives as raw bytes: gzip (magic 1f 8b) when compressed, protobuf otherwise.
    options = [("grpc.per_message_decompression", 0)]
    with grpc.insecure_channel(stub.target, options=options) as raw_channel:
        call = raw_channel.unary_unary("/interop.v1.TestService/UnaryCall",
                                       request_serializer=pb2.SimpleRequest.SerializeToString)
        for compressed in (True, False):
            request = pb2.SimpleRequest(response_size=314159, response_compressed=compressed)
            raw = call(request, timeout=DEADLINE)
            arrived_compressed = raw[:2] == b"\x1f\x8b"
            check(arrived_compressed == compressed,
                  f"response_compressed={compressed} but the response arrived "
                  f"{'compressed' if arrived_compressed else 'uncompressed'}")
            if arrived_compressed:
                raw = gzip.decompress(raw)
            check_payload(pb2.SimpleResponse.FromString(raw).payload, 314159)


def large_server_stream(stub):
    count, size = 100, 64 * 1024
    responses = 0
    for response in stub.StreamingOutputCall(output_request([size] * count), timeout=DEADLINE):
        check_payload(response.payload, size, f"response {responses}")
        responses += 1
    check(responses == count, f"{responses} responses, expected {count}")


# server_compressed_streaming is absent: test.proto has no per-response compression field.
CASES = {fn.__name__: fn for fn in [
    empty_unary, large_unary, server_streaming, client_streaming, ping_pong, empty_stream,
    cancel_after_begin, cancel_after_first_response, timeout_on_sleeping_server,
    status_code_and_message, special_status_message, custom_metadata, unimplemented_method,
    unimplemented_service, max_message_size, client_compressed_unary, server_compressed_unary,
    large_server_stream,
]}


class Stub:
    """The generated TestService stub plus the channel it uses."""

    def __init__(self, channel, target):
        self.channel = channel
        self.target = target
        self._stub = pb2_grpc.TestServiceStub(channel)

    def __getattr__(self, name):
        return getattr(self._stub, name)


def run(name, target):
    # A fresh channel per case, so one case's failure cannot leak into the next.
    options = [("grpc.max_send_message_length", -1)]  # the server, not us, must refuse big messages
    with grpc.insecure_channel(target, options=options) as channel:
        try:
            CASES[name](Stub(channel, target))
        except Failure as failure:
            return f"FAIL {name}: {failure}"
        except grpc.RpcError as error:
            return f"FAIL {name}: unexpected status {error.code().name}: {error.details()!r}"
        except Exception as error:  # a harness bug must still be reported per case
            return f"FAIL {name}: {type(error).__name__}: {error}"
    return f"PASS {name}"


def main():
    global pb2, pb2_grpc
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--case", action="append", required=True,
                        help=f"repeatable; 'all' or one of: {', '.join(CASES)}")
    parser.add_argument("--gen-dir", help="where to generate code (default: a temporary directory)")
    args = parser.parse_args()

    names = list(CASES) if "all" in args.case else args.case
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    pb2, pb2_grpc = interop_gen.load(args.gen_dir)

    failed = 0
    for name in names:
        line = run(name, f"{args.host}:{args.port}")
        failed += line.startswith("FAIL")
        print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
