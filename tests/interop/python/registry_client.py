#!/usr/bin/python3
"""grpcio client driving controlplane.v1.RegistryService (register, heartbeat stream, errors).

Runs one scenario against a control plane's gRPC port. On success it prints one JSON line (the
scenario's summary) and exits 0; on failure it prints `FAIL <scenario>: <reason>` to stderr and
exits 1 (2 on a usage error).
"""

import argparse
import json
import os
import secrets
import sys
import time

import grpc

import interop_gen
from request_queue import Requests

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", "protos"))
DEADLINE = 30.0  # seconds, for every call
IMAGE = "img.py-interop.svc"
TTL = 30
INSTANCES = 200
BEATS = 5
MAX_IDS_PER_BEAT = 1000
MALFORMED_ID = "bad id/with slash"
SECOND_NS = 1_000_000_000
CLOCK_SLACK_NS = SECOND_NS  # client and server share the machine's clock; this only absorbs rounding

# google.rpc error details as upstream googleapis defines them (google/rpc/error_details.proto,
# the fields this client reads). The repository carries only google/rpc/status.proto.
ERROR_DETAILS_PROTO = """
syntax = "proto3";
package google.rpc;
message ErrorInfo {
  string reason = 1;
  string domain = 2;
  map<string, string> metadata = 3;
}
message BadRequest {
  message FieldViolation {
    string field = 1;
    string description = 2;
  }
  repeated FieldViolation field_violations = 1;
}
"""

pb2 = pb2_grpc = status_pb2 = details_pb2 = None  # set by load() once the code is generated


class Failure(Exception):
    pass


def check(condition, reason):
    if not condition:
        raise Failure(reason)


def load(gen_dir=None):
    """Generates python for protos/controlplane/v1/*.proto and the google/ imports the repo carries."""
    global pb2, pb2_grpc, status_pb2, details_pb2
    files = []
    for folder in ("controlplane/v1", "google"):
        for root, _, names in os.walk(os.path.join(PROTO_ROOT, folder)):
            files += [os.path.relpath(os.path.join(root, n), PROTO_ROOT) for n in names if n.endswith(".proto")]
    extra = {}
    if not os.path.isfile(os.path.join(PROTO_ROOT, "google", "rpc", "error_details.proto")):
        extra["google/rpc/error_details.proto"] = ERROR_DETAILS_PROTO
    interop_gen.generate(PROTO_ROOT, sorted(files), gen_dir, extra)
    from controlplane.v1 import registry_pb2, registry_pb2_grpc
    from google.rpc import error_details_pb2, status_pb2 as status
    pb2, pb2_grpc, status_pb2, details_pb2 = registry_pb2, registry_pb2_grpc, status, error_details_pb2


# --- helpers -----------------------------------------------------------------------------------

class HeartbeatStream:
    """One HeartbeatStream call: beat() sends a message and waits for its answer; close() half-closes
    and expects the server to end the stream with OK. Leaving the block otherwise cancels the call."""

    def __init__(self, stub):
        self._requests = Requests()
        self.call = stub.HeartbeatStream(self._requests, timeout=DEADLINE)
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._requests.close()  # lets grpcio's request-sending thread finish
        if not self.closed:
            self.call.cancel()
        return False

    def beat(self, beat_id, ids):
        self._requests.send(pb2.HeartbeatStreamRequest(beat_id=beat_id, instance_ids=ids))
        try:
            return next(self.call)
        except StopIteration:
            raise Failure(f"the stream ended (status {self.call.code().name}) before the answer to beat {beat_id}") from None

    def close(self):
        self._requests.close()
        extra = list(self.call)
        self.closed = True
        check(not extra, f"{len(extra)} unexpected responses after half-close")
        code = self.call.code()
        check(code == grpc.StatusCode.OK, f"the stream ended with {code.name}: {self.call.details()!r}, expected OK")
        return code.name


def outcome_name(value):
    return pb2.HeartbeatOutcome.Name(value).removeprefix("HEARTBEAT_OUTCOME_")


def ts_ns(timestamp):
    return timestamp.seconds * SECOND_NS + timestamp.nanos


def check_answer(response, beat_id, ids):
    """The answer echoes beat_id and has one result per requested id, in request order."""
    check(response.beat_id == beat_id, f"beat {beat_id}: the answer carries beat_id {response.beat_id}")
    got = [r.instance_id for r in response.results]
    check(len(got) == len(ids), f"beat {beat_id}: {len(got)} results for {len(ids)} ids")
    if got != list(ids):
        i = next(i for i, (a, b) in enumerate(zip(got, ids)) if a != b)
        raise Failure(f"beat {beat_id}: result {i} is for {got[i]!r}, expected {ids[i]!r} (request order)")


def check_renewed(result, what, sent_ns, received_ns):
    """A RENEWED result with the instance's TTL and an expiry of (server's now + TTL)."""
    outcome = outcome_name(result.outcome)
    check(outcome == "RENEWED", f"{what}: outcome {outcome} ({result.message!r}), expected RENEWED")
    check(result.ttl_seconds == TTL, f"{what}: ttl_seconds {result.ttl_seconds}, expected {TTL}")
    check(result.status == "healthy", f"{what}: status {result.status!r}, expected 'healthy'")
    check(result.HasField("expires_at"), f"{what}: no expires_at")
    expires = ts_ns(result.expires_at)
    check(expires > received_ns, f"{what}: expires_at {result.expires_at.ToJsonString()} is not in the future")
    low, high = sent_ns + TTL * SECOND_NS - CLOCK_SLACK_NS, received_ns + TTL * SECOND_NS + CLOCK_SLACK_NS
    check(low <= expires <= high,
          f"{what}: expires_at {result.expires_at.ToJsonString()} is not {TTL} s after the beat")
    return expires


def register(stub, ctx, instance_id, port, name=None):
    request = pb2.RegisterRequest(
        name=name or ctx.name, image=IMAGE, instance_id=instance_id, host=ctx.host, port=port,
        region="local", ttl_seconds=TTL)
    request.metadata.update({"weight": 1, "client": "python-grpcio"})
    return stub.Register(request, timeout=DEADLINE)


def check_created(response, instance_id):
    check(response.registered == 1 and response.created,
          f"Register {instance_id}: registered={response.registered} created={response.created}, expected 1/True")
    check(response.instance.instance_id == instance_id and response.instance.status == "healthy",
          f"Register {instance_id}: stored {response.instance.instance_id!r} with status {response.instance.status!r}")


def expect_error(code, fn, what):
    """Runs fn(), which must fail with `code`; returns the grpc.RpcError."""
    try:
        fn()
    except grpc.RpcError as error:
        check(error.code() == code, f"{what}: expected {code.name}, got {error.code().name}: {error.details()!r}")
        return error
    raise Failure(f"{what}: expected {code.name}, but the call succeeded")


def rich_status(error, what):
    """Decodes the grpc-status-details-bin trailer: (google.rpc.Status, ErrorInfo or None, BadRequest or None)."""
    raw = [v for k, v in (error.trailing_metadata() or ()) if k == "grpc-status-details-bin"]
    check(len(raw) == 1, f"{what}: {len(raw)} grpc-status-details-bin trailers, expected 1")
    status = status_pb2.Status.FromString(raw[0])
    check(status.code == error.code().value[0],
          f"{what}: the details trailer says code {status.code}, the grpc-status is {error.code().value[0]}")
    check(status.message == error.details(),
          f"{what}: the details trailer says {status.message!r}, grpc-message is {error.details()!r}")
    info = bad_request = None
    for detail in status.details:
        if detail.Is(details_pb2.ErrorInfo.DESCRIPTOR):
            info = details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(details_pb2.BadRequest.DESCRIPTOR):
            bad_request = details_pb2.BadRequest()
            detail.Unpack(bad_request)
    return status, info, bad_request


def violation_fields(bad_request):
    return [v.field for v in bad_request.field_violations] if bad_request else []


# --- scenarios ---------------------------------------------------------------------------------

def heartbeat_stream(stub, ctx):
    ids = [ctx.instance_id(f"{i:03d}") for i in range(INSTANCES)]
    for i, instance_id in enumerate(ids):
        check_created(register(stub, ctx, instance_id, ctx.port_base + i), instance_id)

    with HeartbeatStream(stub) as stream:
        expiries = {}
        for beat_id in range(1, BEATS + 1):
            sent = time.time_ns()
            response = stream.beat(beat_id, ids)
            received = time.time_ns()
            check_answer(response, beat_id, ids)
            for result in response.results:
                what = f"beat {beat_id}, {result.instance_id}"
                expires = check_renewed(result, what, sent, received)
                previous = expiries.get(result.instance_id)
                check(previous is None or expires >= previous, f"{what}: expires_at went backwards")
                expiries[result.instance_id] = expires

        mixed = [ids[0], ctx.instance_id("never-registered"), MALFORMED_ID]
        beat_id = BEATS + 1
        sent = time.time_ns()
        response = stream.beat(beat_id, mixed)
        received = time.time_ns()
        check_answer(response, beat_id, mixed)
        known, unknown, malformed = response.results
        check_renewed(known, f"beat {beat_id}, {known.instance_id}", sent, received)
        for result, expected in ((unknown, "NOT_FOUND"), (malformed, "INVALID_ARGUMENT")):
            got = outcome_name(result.outcome)
            check(got == expected, f"beat {beat_id}, {result.instance_id!r}: outcome {got}, expected {expected}")
            check(result.message, f"beat {beat_id}, {result.instance_id!r}: {got} without a message")
            check(not result.HasField("expires_at"), f"beat {beat_id}, {result.instance_id!r}: {got} with an expires_at")
        stream_status = stream.close()

    return {
        "name": ctx.name, "image": IMAGE, "registered": len(ids), "beats": BEATS + 1,
        "renewed": BEATS * len(ids) + 1,
        "mixed": [outcome_name(r.outcome) for r in response.results],
        "stream_status": stream_status,
    }


def reregister_after_not_found(stub, ctx):
    instance_id = ctx.instance_id("agent")
    with HeartbeatStream(stub) as stream:
        first = stream.beat(1, [instance_id])
        check_answer(first, 1, [instance_id])
        got = outcome_name(first.results[0].outcome)
        check(got == "NOT_FOUND", f"beat 1 for the unregistered {instance_id}: outcome {got}, expected NOT_FOUND")

        registered = register(stub, ctx, instance_id, ctx.port_base)
        check_created(registered, instance_id)

        sent = time.time_ns()
        second = stream.beat(2, [instance_id])
        received = time.time_ns()
        check_answer(second, 2, [instance_id])
        expires = check_renewed(second.results[0], f"beat 2 after registering {instance_id}", sent, received)
        check(expires >= ts_ns(registered.expires_at), "beat 2: expires_at is before the registration's")
        stream_status = stream.close()

    stored = stub.GetInstance(pb2.GetInstanceRequest(instance_id=instance_id), timeout=DEADLINE).instance
    check(stored.status == "healthy", f"GetInstance {instance_id}: status {stored.status!r}")
    return {
        "name": ctx.name, "instance_id": instance_id,
        "outcomes": [outcome_name(first.results[0].outcome), outcome_name(second.results[0].outcome)],
        "stream_status": stream_status,
    }


def errors(stub, ctx):
    summary = {"name": ctx.name}

    # 1. An invalid port: INVALID_ARGUMENT with a BadRequest naming `port` in the details trailer.
    error = expect_error(grpc.StatusCode.INVALID_ARGUMENT,
                         lambda: register(stub, ctx, ctx.instance_id("port-zero"), 0), "Register with port 0")
    status, info, bad_request = rich_status(error, "Register with port 0")
    fields = violation_fields(bad_request)
    check(fields == ["port"], f"Register with port 0: BadRequest field violations {fields}, expected ['port']")
    check(bad_request.field_violations[0].description, "Register with port 0: the port violation has no description")
    summary["invalid_port"] = {
        "code": error.code().name, "reason": info.reason if info else None, "violations": fields,
        "message": status.message,
    }

    # 2. A live instance id registered again under another name: ALREADY_EXISTS, the first one kept.
    duplicate = ctx.instance_id("dup")
    check_created(register(stub, ctx, duplicate, ctx.port_base), duplicate)
    error = expect_error(grpc.StatusCode.ALREADY_EXISTS,
                         lambda: register(stub, ctx, duplicate, ctx.port_base + 1, name=ctx.name + "-other"),
                         f"Register {duplicate} under another name")
    _, info, _ = rich_status(error, f"Register {duplicate} under another name")
    stored = stub.GetInstance(pb2.GetInstanceRequest(instance_id=duplicate), timeout=DEADLINE).instance
    check(stored.name == ctx.name and stored.port == ctx.port_base,
          f"after the refused duplicate, {duplicate} is stored as {stored.name}:{stored.port}, expected {ctx.name}:{ctx.port_base}")
    summary["duplicate"] = {"code": error.code().name, "reason": info.reason if info else None}

    # 3. A beat with more ids than allowed ends the stream with INVALID_ARGUMENT (after a good beat).
    with HeartbeatStream(stub) as stream:
        ok = stream.beat(1, [duplicate])
        check_answer(ok, 1, [duplicate])
        check(outcome_name(ok.results[0].outcome) == "RENEWED", f"beat 1: {outcome_name(ok.results[0].outcome)}")
        too_many = [ctx.instance_id(f"many-{i}") for i in range(MAX_IDS_PER_BEAT + 1)]
        what = f"a beat with {len(too_many)} ids"
        error = expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: stream.beat(2, too_many), what)
        _, info, bad_request = rich_status(error, what)
        fields = violation_fields(bad_request)
        check(fields == ["instance_ids"], f"{what}: BadRequest field violations {fields}, expected ['instance_ids']")
        summary["oversized_beat"] = {
            "code": stream.call.code().name, "reason": info.reason if info else None, "violations": fields,
        }
    return summary


SCENARIOS = {
    "heartbeat-stream": heartbeat_stream,
    "reregister-after-not-found": reregister_after_not_found,
    "errors": errors,
}


class Context:
    """Names for one run: a random tag keeps runs against one long-lived server apart."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.name = f"py-interop-{run_id}"
        self.host = f"{run_id}.py-interop.test"
        self.port_base = 20000

    def instance_id(self, suffix):
        return f"py-{self.run_id}-{suffix}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=list(SCENARIOS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--run-id", default=secrets.token_hex(4),
                        help="tag in service names, hosts and instance ids (default: random)")
    parser.add_argument("--gen-dir", help="where to generate code (default: a temporary directory)")
    args = parser.parse_args()

    started = time.monotonic()
    try:
        load(args.gen_dir)
        with grpc.insecure_channel(f"{args.host}:{args.port}") as channel:
            stub = pb2_grpc.RegistryServiceStub(channel)
            summary = SCENARIOS[args.scenario](stub, Context(args.run_id))
    except Failure as failure:
        print(f"FAIL {args.scenario}: {failure}", file=sys.stderr, flush=True)
        return 1
    except grpc.RpcError as error:
        print(f"FAIL {args.scenario}: unexpected status {error.code().name}: {error.details()!r}", file=sys.stderr, flush=True)
        return 1
    except Exception as error:  # a harness bug must still end with a clear message
        print(f"FAIL {args.scenario}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 1
    summary = {"scenario": args.scenario, "ok": True, **summary,
               "elapsed_ms": round((time.monotonic() - started) * 1000)}
    print(json.dumps(summary, sort_keys=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
