using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;
using Google.Protobuf;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>How a fake node identifies and authenticates itself, and which content it rejects.</summary>
internal sealed class FakeNodeOptions
{
    public string Zone { get; init; } = "eu-central-1a";

    /// <summary>Sent as x-dataplane-token when set.</summary>
    public string? Token { get; init; }

    /// <summary>Sent as further x-dataplane-token entries after <see cref="Token"/> (a node presenting it more than once).</summary>
    public IReadOnlyList<string> MoreTokens { get; init; } = [];

    /// <summary>The node NACKs a response when this returns an error message for one of its resources.</summary>
    public Func<Resource, string?>? Reject { get; set; }

    /// <summary>The error_detail a NACK carries for <see cref="Reject"/>'s message; by default INVALID_ARGUMENT with it.</summary>
    public Func<string, Google.Rpc.Status>? Rejection { get; set; }
}

/// <summary>
/// A dataplane node speaking the discovery protocol over the project's gRPC client, with the rules a
/// real node relies on checked on every response (nonces, versions, content, what may be sent when).
/// A broken rule is recorded and fails the next wait. Every response is answered with an ACK or a
/// NACK, as a node must. Waits are signalled by responses and stream ends, never by sleeping.
/// </summary>
internal abstract class FakeNode<TRequest, TResponse> : IAsyncDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    protected readonly object Sync = new();
    private readonly List<string> _violations = [];
    private readonly HashSet<string> _nonces = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Func<Metadata, INodeTransport<TRequest, TResponse>> _connect;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private INodeTransport<TRequest, TResponse>? _call;
    private Task _reader = Task.CompletedTask;
    private readonly List<Func<long, TRequest>> _heldAnswers = [];
    private bool _nodeSent;
    private long _sequence;
    private bool _holdAnswers;

    /// <summary>A node whose streams are opened by <paramref name="connect"/> (given the request metadata).</summary>
    protected FakeNode(Func<Metadata, INodeTransport<TRequest, TResponse>> connect, string id, FakeNodeOptions? options)
    {
        _connect = connect;
        Options = options ?? new FakeNodeOptions();
        Identity = new Node { Id = id, Region = "eu-central", Zone = Options.Zone, UserAgentName = "fake-node", UserAgentVersion = "1.0" };
        Identity.Metadata = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson("""{"pool": "edge"}""");
    }

    public Node Identity { get; }

    public FakeNodeOptions Options { get; }

    private readonly List<TResponse> _received = [];

    /// <summary>
    /// While true, the node reads responses but keeps its ACKs/NACKs to itself (a node busy applying
    /// configuration); <see cref="ReleaseAnswersAsync"/> sends them.
    /// </summary>
    public bool HoldAnswers
    {
        get
        {
            lock (Sync)
            {
                return _holdAnswers;
            }
        }
        set
        {
            lock (Sync)
            {
                _holdAnswers = value;
            }
        }
    }

    /// <summary>Answers every response read while answers were held, in order, and stops holding.</summary>
    public async Task ReleaseAnswersAsync()
    {
        List<Func<long, TRequest>> answers;
        lock (Sync)
        {
            _holdAnswers = false;
            answers = [.. _heldAnswers];
            _heldAnswers.Clear();
        }
        foreach (var answer in answers)
        {
            await SendAsync(answer);
        }
    }

    /// <summary>Every response received, on every stream, in order (a copy).</summary>
    public IReadOnlyList<TResponse> Received
    {
        get
        {
            lock (Sync)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Streams opened so far (1 after the first connect).</summary>
    public int Streams { get; private set; }

    /// <summary>The status the current stream ended with; null while it runs.</summary>
    public Status? EndStatus { get; private set; }

    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (Sync)
            {
                return [.. _violations];
            }
        }
    }

    /// <summary>Opens a new stream (after closing the current one, if any).</summary>
    protected async Task OpenAsync()
    {
        await CloseStreamAsync();
        var headers = new Metadata();
        if (Options.Token is { } token)
        {
            headers.Add("x-dataplane-token", token);
        }
        foreach (var more in Options.MoreTokens)
        {
            headers.Add("x-dataplane-token", more);
        }
        var call = _connect(headers);
        lock (Sync)
        {
            _call = call;
            _nodeSent = false;
            EndStatus = null;
            Streams++;
            OnStreamOpened();
        }
        _reader = Task.Run(() => ReadAsync(call));
    }

    /// <summary>Cancels the current stream, as a node that goes away does.</summary>
    public async Task CloseStreamAsync()
    {
        INodeTransport<TRequest, TResponse>? call;
        lock (Sync)
        {
            call = _call;
            _call = null;
        }
        if (call is null)
        {
            return;
        }
        call.Dispose();
        await _reader.DefaultTimeout();
    }

    /// <summary>Half-closes the request stream: the node says it is done.</summary>
    public async Task CompleteAsync()
    {
        await _writeLock.WaitAsync().DefaultTimeout();
        try
        {
            await _call!.CompleteAsync().DefaultTimeout();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>A transport over the real gRPC client, with the request metadata given.</summary>
    protected static Func<Metadata, INodeTransport<TRequest, TResponse>> Over(GrpcChannel channel, Method<TRequest, TResponse> method) => Over(() => channel, method);

    /// <summary>A transport whose every stream opens on the channel <paramref name="channel"/> names then (a node failing over between replicas).</summary>
    protected static Func<Metadata, INodeTransport<TRequest, TResponse>> Over(Func<GrpcChannel> channel, Method<TRequest, TResponse> method) =>
        headers => new GrpcNodeTransport<TRequest, TResponse>(channel().AsyncDuplexStreamingCall(method, new CallOptions(headers)));

    /// <summary>Sends a request built under the node's lock (so local state and the wire agree on order).</summary>
    protected async Task SendAsync(Func<long, TRequest> build, bool raw = false)
    {
        await _writeLock.WaitAsync().DefaultTimeout();
        try
        {
            TRequest request;
            INodeTransport<TRequest, TResponse> call;
            lock (Sync)
            {
                call = _call ?? throw new InvalidOperationException("The node has no open stream.");
                request = build(++_sequence);
                if (!_nodeSent && !raw)
                {
                    SetNode(request, Identity);
                }
                _nodeSent = true;
            }
            await call.WriteAsync(request).DefaultTimeout();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends a request exactly as given, node included (for tests of malformed or stale requests).</summary>
    public Task SendRawAsync(TRequest request) => SendAsync(_ => request, raw: true);

    protected abstract void SetNode(TRequest request, Node node);

    protected virtual void OnStreamOpened()
    {
    }

    /// <summary>Under the lock: checks and applies a response, returning the answer (ACK or NACK) to send.</summary>
    protected abstract Func<long, TRequest>? OnResponse(TResponse response);

    private async Task ReadAsync(INodeTransport<TRequest, TResponse> call)
    {
        Status status;
        try
        {
            while (await call.MoveNext())
            {
                Func<long, TRequest>? answer;
                lock (Sync)
                {
                    _received.Add(call.Current);
                    answer = OnResponse(call.Current);
                    if (answer is not null && _holdAnswers)
                    {
                        _heldAnswers.Add(answer);
                        answer = null;
                    }
                }
                if (answer is not null)
                {
                    try
                    {
                        await SendAsync(answer);
                    }
                    catch (RpcException)
                    {
                        // The server ended the call under the answer: its status comes with the next read.
                    }
                }
                Signal();
            }
            status = call.GetStatus();
        }
        catch (RpcException ex)
        {
            status = ex.Status;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            status = new Status(StatusCode.Cancelled, ex.Message);
        }
        lock (Sync)
        {
            EndStatus = status;
        }
        Signal();
    }

    /// <summary>Records a broken protocol rule.</summary>
    protected void Violation(string rule)
    {
        _violations.Add(rule);
    }

    /// <summary>The rules every response of either variant obeys; under the lock.</summary>
    protected void CheckCommon(string typeUrl, string nonce, string controlPlaneId, IReadOnlyList<Resource> resources)
    {
        if (nonce.Length == 0 || !_nonces.Add(nonce))
        {
            Violation($"nonce '{nonce}' is empty or was used before");
        }
        if (controlPlaneId.Length == 0)
        {
            Violation("control_plane_id is empty");
        }
        for (var i = 0; i < resources.Count; i++)
        {
            var r = resources[i];
            if (i > 0 && string.CompareOrdinal(resources[i - 1].Name, r.Name) >= 0)
            {
                Violation($"resources are not strictly ordered by name: '{resources[i - 1].Name}' then '{r.Name}'");
            }
            if (r.Resource_?.TypeUrl != typeUrl)
            {
                Violation($"resource '{r.Name}' has type '{r.Resource_?.TypeUrl}' in a response of '{typeUrl}'");
                continue;
            }
            if (r.Version != ResourceVersion.Of(r.Resource_.Value.Span))
            {
                Violation($"resource '{r.Name}' has version '{r.Version}', not the digest of its content");
            }
            var image = typeUrl == ResourceTypes.EndpointSet ? EndpointSet.Parser.ParseFrom(r.Resource_.Value).Image : RoutingPolicy.Parser.ParseFrom(r.Resource_.Value).Image;
            if (image != r.Name)
            {
                Violation($"resource '{r.Name}' carries the content of '{image}'");
            }
        }
    }

    protected Google.Rpc.Status RejectionOf(string message) =>
        Options.Rejection?.Invoke(message) ?? new() { Code = (int)StatusCode.InvalidArgument, Message = message };

    private void Signal() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits, response by response, until <paramref name="condition"/> holds; fails on a broken rule or the timeout.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, bool checkRules = true)
    {
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Timeout;
        while (true)
        {
            Task next;
            lock (Sync)
            {
                if (checkRules && _violations.Count > 0)
                {
                    throw new Xunit.Sdk.XunitException($"Node {Identity.Id} saw protocol violations:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", _violations));
                }
                if (condition())
                {
                    return;
                }
                next = _changed.Task;
            }
            var left = deadline - DateTime.UtcNow;
            try
            {
                await next.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (TimeoutException)
            {
                string state;
                lock (Sync)
                {
                    state = Describe();
                }
                throw new TimeoutException($"Node {Identity.Id}: timed out waiting for {what}. {state}");
            }
        }
    }

    /// <summary>Waits until the current stream has ended; returns its status.</summary>
    public async Task<Status> WaitForEndAsync(bool checkRules = true)
    {
        await WaitUntilAsync(() => EndStatus is not null, "the stream to end", checkRules);
        return EndStatus!.Value;
    }

    /// <summary>Fails when any rule was broken.</summary>
    public void AssertNoViolations() => Assert.Empty(Violations);

    protected abstract string Describe();

    public async ValueTask DisposeAsync()
    {
        await CloseStreamAsync();
        _writeLock.Dispose();
    }
}
