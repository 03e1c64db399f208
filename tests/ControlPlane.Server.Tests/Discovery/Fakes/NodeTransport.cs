using System.Threading.Channels;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>One open stream of a fake node: requests out, responses in, a status at the end.</summary>
internal interface INodeTransport<TRequest, TResponse> : IDisposable
{
    Task WriteAsync(TRequest request);

    Task CompleteAsync();

    Task<bool> MoveNext();

    TResponse Current { get; }

    Status GetStatus();
}

/// <summary>The real thing: a call over the project's gRPC client to a real server.</summary>
internal sealed class GrpcNodeTransport<TRequest, TResponse>(AsyncDuplexStreamingCall<TRequest, TResponse> call) : INodeTransport<TRequest, TResponse>
{
    public Task WriteAsync(TRequest request) => call.RequestStream.WriteAsync(request);

    public Task CompleteAsync() => call.RequestStream.CompleteAsync();

    public Task<bool> MoveNext() => call.ResponseStream.MoveNext(CancellationToken.None);

    public TResponse Current => call.ResponseStream.Current;

    public Status GetStatus() => call.GetStatus();

    public void Dispose() => call.Dispose();
}

/// <summary>
/// The server's handler called in-process, every message encoded and decoded on the way as on the
/// wire but through protobuf's stream codec. It exists because the gRPC runtime's span-based framing
/// cannot encode or decode a message holding google.rpc.Status from Google.Api.CommonProtos 2.0.0
/// (generated before IBufferMessage), which every NACK carries: NACK scenarios run over this
/// transport until the runtime handles such messages (see NackTests).
/// </summary>
internal sealed class InMemoryNodeTransport<TRequest, TResponse> : INodeTransport<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly Channel<byte[]> _requests = Channel.CreateUnbounded<byte[]>();
    private readonly Channel<byte[]> _responses = Channel.CreateUnbounded<byte[]>();
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _call;
    private Status? _status;
    private TResponse? _current;

    public InMemoryNodeTransport(Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler, MethodDescriptor method)
    {
        var context = new InProcessCallContext(method, _cts);
        _call = Task.Run(async () =>
        {
            try
            {
                await handler(new Reader(_requests.Reader), new Writer(_responses.Writer), context);
                _status = context.Status;
            }
            catch (RpcException ex)
            {
                _status = ex.Status;
            }
            catch (OperationCanceledException)
            {
                _status = new Status(StatusCode.Cancelled, "cancelled");
            }
            _responses.Writer.TryComplete();
        });
    }

    public TResponse Current => _current ?? throw new InvalidOperationException("No message read.");

    public Task WriteAsync(TRequest request) => _requests.Writer.WriteAsync(request.ToByteArray()).AsTask();

    public Task CompleteAsync()
    {
        _requests.Writer.TryComplete();
        return Task.CompletedTask;
    }

    public async Task<bool> MoveNext()
    {
        if (!await _responses.Reader.WaitToReadAsync())
        {
            await _call;
            if (_status is { StatusCode: not StatusCode.OK } status)
            {
                throw new RpcException(status);
            }
            return false;
        }
        _current = new MessageParser<TResponse>(() => new TResponse()).ParseFrom(await _responses.Reader.ReadAsync());
        return true;
    }

    public Status GetStatus() => _status ?? throw new InvalidOperationException("The call has not ended.");

    public void Dispose()
    {
        _cts.Cancel();
        _requests.Writer.TryComplete();
    }

    private sealed class Reader(ChannelReader<byte[]> requests) : IAsyncStreamReader<TRequest>
    {
        private static readonly MessageParser<TRequest> Parser = new(() => new TRequest());

        public TRequest Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await requests.WaitToReadAsync(cancellationToken))
            {
                return false;
            }
            Current = Parser.ParseFrom(await requests.ReadAsync(cancellationToken));
            return true;
        }
    }

    private sealed class Writer(ChannelWriter<byte[]> responses) : IServerStreamWriter<TResponse>
    {
        public Task WriteAsync(TResponse message, CancellationToken cancellationToken = default) =>
            responses.WriteAsync(message.ToByteArray(), cancellationToken).AsTask();
    }
}
