using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using ControlPlane.Interop.V1;
using Google.Protobuf;

namespace ControlPlane.TestCommon;

/// <summary>
/// interop.v1.TestService on our server runtime, with the semantics documented in
/// tests/interop/protos/interop/v1/test.proto (after the gRPC interop test descriptions).
/// </summary>
public sealed class InteropTestService(TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public const string EchoInitialKey = "x-grpc-test-echo-initial";
    public const string EchoTrailingKey = "x-grpc-test-echo-trailing-bin";

    public Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        if (request.ExpectCompressed && context.RequestEncoding is null)
        {
            throw new RpcException(StatusCode.InvalidArgument, "Expected a compressed request.");
        }
        ThrowIfStatusRequested(request.ResponseStatus);
        if (request.SleepMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(request.SleepMs), _clock, context.CancellationToken);
        }
        if (request.ResponseCompressed)
        {
            context.ResponseCompression = "gzip";
        }
        return new SimpleResponse { Payload = Zeros(request.ResponseSize) };
    }

    public async Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        ThrowIfStatusRequested(request.ResponseStatus);
        foreach (var p in request.ResponseParameters)
        {
            if (p.IntervalUs > 0)
            {
                await Task.Delay(TimeSpan.FromMicroseconds(p.IntervalUs), _clock, context.CancellationToken);
            }
            await responseStream.WriteAsync(new StreamingOutputCallResponse { Payload = Zeros(p.Size) }, context.CancellationToken);
        }
    }

    public async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream, ServerCallContext context)
    {
        var total = 0;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            total += requestStream.Current.Payload?.Body.Length ?? 0;
        }
        return new StreamingInputCallResponse { AggregatedPayloadSize = total };
    }

    public async Task FullDuplexCall(
        IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            ThrowIfStatusRequested(request.ResponseStatus);
            foreach (var p in request.ResponseParameters)
            {
                if (p.IntervalUs > 0)
                {
                    await Task.Delay(TimeSpan.FromMicroseconds(p.IntervalUs), _clock, context.CancellationToken);
                }
                await responseStream.WriteAsync(new StreamingOutputCallResponse { Payload = Zeros(p.Size) }, context.CancellationToken);
            }
        }
    }

    /// <summary>Declared by the service but deliberately not implemented, as the interop suite requires.</summary>
    public Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) =>
        throw new RpcException(StatusCode.Unimplemented, "Method is unimplemented.");

    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue(EchoInitialKey) is { } initial)
        {
            await context.WriteResponseHeadersAsync(new Metadata().Add(EchoInitialKey, initial));
        }
        if (context.RequestHeaders.GetValueBytes(EchoTrailingKey) is { } trailing)
        {
            context.ResponseTrailers.Add(EchoTrailingKey, trailing);
        }
    }

    private static void ThrowIfStatusRequested(EchoStatus? status)
    {
        if (status is { Code: not 0 })
        {
            throw new RpcException((StatusCode)status.Code, status.Message);
        }
    }

    private static Payload Zeros(int size) => new() { Body = ByteString.CopyFrom(new byte[size]) };
}
