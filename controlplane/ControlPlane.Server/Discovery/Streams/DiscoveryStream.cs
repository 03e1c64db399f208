using System.Globalization;
using System.Security.Cryptography;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Discovery.Status;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// The plumbing shared by both discovery variants: one reader (the node's requests, handled under the
/// stream's lock), one writer task fed by a wake-up signal, the per-type bookkeeping, nonces, and stuck
/// detection. What is queued is not responses but marks ("these names changed", "answer this type"),
/// at most one per resource: the writer builds each response from the cache's latest snapshot when it
/// is about to send, so a slow node gets the latest version of each resource once, and its queue is
/// bounded by the number of resources it subscribes to. The variants decide what a request means and
/// what the next response is (<see cref="SotwStream"/>, <see cref="DeltaStream"/>).
/// </summary>
internal abstract class DiscoveryStream<TRequest, TResponse, TState> : IDiscoveryStream
    where TRequest : class
    where TResponse : class
    where TState : TypeState
{
    /// <summary>Guards every field below and all of <see cref="Types"/>.</summary>
    protected readonly object Sync = new();

    private readonly WakeSignal _wake = new();
    private readonly string _noncePrefix;
    private long _nonceCounter;
    private long _writeStartedAt;
    private DateTimeOffset _lastRequestAt;
    private CancellationTokenSource? _loops;
    private ServerCallContext? _context;
    private ITimer? _drain;
    private volatile string? _closeReason;
    private string _closeErrorReason = "stream_stuck";

    protected DiscoveryStream(StreamServices services, Node node, string peer, string credential)
    {
        Services = services;
        Node = node;
        Peer = peer;
        Credential = credential;
        Id = StreamIds.Next();
        ConnectedSince = services.Clock.GetUtcNow();
        _lastRequestAt = ConnectedSince;
        // Nonces are only meaningful within their stream (xDS); a random prefix per stream keeps a node
        // that echoes a nonce from an earlier stream from matching one of this stream's by accident.
        _noncePrefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + "-";
    }

    public long Id { get; }

    public Node Node { get; }

    public string NodeId => Node.Id;

    public string Peer { get; }

    /// <summary>How the stream was admitted (<see cref="Auth.NodeBinding.Credential"/>).</summary>
    public string Credential { get; }

    public DateTimeOffset ConnectedSince { get; }

    public abstract string Variant { get; }

    protected StreamServices Services { get; }

    /// <summary>Per subscribed type, by type URL (ordinal order, so responses and snapshots are stable).</summary>
    protected TypeStates<TState> Types { get; } = new();

    protected long Now => Services.Clock.GetTimestamp();

    /// <summary>Applies one request under the lock; true when the writer has something to look at.</summary>
    protected abstract bool HandleCore(TRequest request);

    /// <summary>Under the lock: the next response to send, with its bookkeeping done, or null when nothing is due.</summary>
    protected abstract TResponse? BuildNext();

    /// <summary>Under the lock: marks what <paramref name="names"/> (changed resources of the state's type) means for this subscription; true when work was queued.</summary>
    protected abstract bool MarkChanged(TState state, IReadOnlySet<string> names);

    /// <summary>The version the node would hold if it had everything the cache now holds for its subscription.</summary>
    protected abstract string CurrentVersion(TState state);

    /// <summary>Under the lock: the rejection the fleet view shows for a type; by default the last NACK's, until an ACK.</summary>
    protected virtual (string Version, Google.Rpc.Status? Error, DateTimeOffset? At) Rejection(TState state) =>
        (state.VersionRejected, state.RejectionError, state.RejectedAt);

    protected abstract Node? NodeOf(TRequest request);

    /// <summary>The store position of the configuration the node holds (first request of a stream; empty: none).</summary>
    protected abstract string StorePositionOf(TRequest request);

    /// <summary>What a response built now says of where its configuration stands: read before the snapshots, so never newer than they are.</summary>
    protected string StorePositionNow() => Services.Cache.PositionText;

    /// <summary>Resources tracked per stream rather than shared with the cache; none by default.</summary>
    public virtual int PrivateResourceEntries => 0;

    /// <summary>Under the lock: the version the node holds once it has acknowledged the outstanding response.</summary>
    protected virtual string AckedVersion(TState state) => state.VersionSent;

    /// <summary>Serves the stream until the node closes it, it fails, or it is closed as stuck.</summary>
    public async Task RunAsync(TRequest first, IAsyncStreamReader<TRequest> requests, IServerStreamWriter<TResponse> responses, ServerCallContext context)
    {
        // Cancelling the loops stops reading and waiting, but never a write in progress: Kestrel
        // answers a cancelled write by resetting the HTTP/2 stream, and the node would lose the status.
        // Before anything is sent or counted: a replica behind the node's configuration refuses it.
        try
        {
            await StoreFreshness.RequireAsync(Services, StorePositionOf(first), NodeId, context.CancellationToken);
        }
        catch (RpcException refused) when (refused.StatusCode == StatusCode.Unavailable)
        {
            // Shown in the fleet view, which otherwise would not list a node no replica serves.
            Services.Registry.Refused(this, refused.Status);
            throw;
        }
        using var loops = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        _loops = loops;
        _context = context;
        var outcome = "closed by the node";
        var watch = Services.Cache.Watch(OnResourcesChanged);
        Services.Registry.Add(this);
        try
        {
            Handle(first);
            var writer = WriteLoopAsync(responses, loops.Token, context.CancellationToken);
            var reader = ReadLoopAsync(requests, loops.Token);
            var finished = await Task.WhenAny(reader, writer);
            await loops.CancelAsync();
            // A write still in progress finishes (or the call ends, or the stuck sweep resets the stream).
            await EndQuietlyAsync(finished == reader ? writer : reader);
            if (_closeReason is { } why)
            {
                outcome = why;
                throw RpcErrors.Exception(StatusCode.Unavailable, _closeErrorReason, why);
            }
            if (finished == reader && reader.IsCompletedSuccessfully)
            {
                return; // the node half-closed: the conversation is over, end the call with OK
            }
            await finished; // rethrows what ended the stream
        }
        catch (RpcException ex)
        {
            outcome = ex.StatusCode + ": " + ex.Status.Detail;
            throw;
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            outcome = context.Deadline <= Services.Clock.GetUtcNow().UtcDateTime ? "its deadline passed" : "cancelled (the node left)";
            throw;
        }
        catch (Exception ex)
        {
            outcome = "failed: " + ex.GetType().Name;
            throw;
        }
        finally
        {
            // Everything the stream holds is released before it is reported closed.
            watch.Dispose();
            lock (Sync)
            {
                _drain?.Dispose();
                _context = null;
            }
            Services.Registry.Remove(this, outcome);
        }
    }

    /// <summary>Takes one request from the node (the first, or any later one).</summary>
    private void Handle(TRequest request)
    {
        NodeIdentity.CheckSame(NodeOf(request), Node);
        bool wake;
        lock (Sync)
        {
            _lastRequestAt = Services.Clock.GetUtcNow();
            wake = HandleCore(request);
        }
        if (wake)
        {
            _wake.Set();
        }
        Services.Registry.Raise(new DataplaneStreamEvent(DataplaneStreamEventKind.Request, NodeId, Id));
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<TRequest> requests, CancellationToken loopToken)
    {
        while (await requests.MoveNext(loopToken))
        {
            Handle(requests.Current);
        }
    }

    private async Task WriteLoopAsync(IServerStreamWriter<TResponse> responses, CancellationToken loopToken, CancellationToken callToken)
    {
        // Until the cache has loaded everything, an answer would tell the node that resources do not exist.
        await Services.Cache.WhenWarm.WaitAsync(loopToken);
        while (true)
        {
            TResponse? response;
            lock (Sync)
            {
                response = loopToken.IsCancellationRequested ? null : BuildNext();
                if (response is not null)
                {
                    _writeStartedAt = Now;
                }
            }
            if (response is null)
            {
                Services.Registry.Raise(new DataplaneStreamEvent(DataplaneStreamEventKind.Idle, NodeId, Id));
                await _wake.WaitAsync(loopToken);
                continue;
            }
            Services.Registry.Raise(new DataplaneStreamEvent(DataplaneStreamEventKind.Sending, NodeId, Id));
            await responses.WriteAsync(response, callToken);
            lock (Sync)
            {
                _writeStartedAt = 0;
            }
            Services.Registry.Raise(new DataplaneStreamEvent(DataplaneStreamEventKind.Sent, NodeId, Id));
        }
    }

    private static async Task EndQuietlyAsync(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // The other loop's end is a consequence; the first loop's outcome is what the call reports.
        }
    }

    private void OnResourcesChanged(ResourceChangeSet changes)
    {
        var wake = false;
        lock (Sync)
        {
            // The stream's few types, looked up in the batch: enumerating the batch's dictionary would allocate, per stream.
            foreach (var state in Types.Values)
            {
                if (changes.NamesByType.TryGetValue(state.TypeUrl, out var names) && MarkChanged(state, names))
                {
                    if (state.ChangeObservedAt == 0 || changes.ObservedTimestamp < state.ChangeObservedAt)
                    {
                        state.ChangeObservedAt = changes.ObservedTimestamp;
                    }
                    MarkPending(state);
                    wake = true;
                }
            }
        }
        if (wake)
        {
            _wake.Set();
        }
    }

    /// <summary>Under the lock: notes when work for <paramref name="state"/> started waiting.</summary>
    protected void MarkPending(TState state)
    {
        if (state.PendingSince == 0)
        {
            state.PendingSince = Now;
        }
    }

    /// <summary>The stream's prefix and counter, written as one string (one allocation per response).</summary>
    protected string NextNonce()
    {
        Span<char> nonce = stackalloc char[_noncePrefix.Length + 20];
        _noncePrefix.CopyTo(nonce);
        (++_nonceCounter).TryFormat(nonce[_noncePrefix.Length..], out var digits, provider: CultureInfo.InvariantCulture);
        return new string(nonce[..(_noncePrefix.Length + digits)]);
    }

    /// <summary>Under the lock: the bookkeeping of a response about to be written.</summary>
    protected void Sent(TState state, string version, string nonce)
    {
        state.NonceSent = nonce;
        state.VersionSent = version;
        state.SentAt = Services.Clock.GetUtcNow();
        state.AwaitingAck = true;
        state.Respond = false;
        // What is still queued (the rest of a split delta response) now waits for this answer.
        state.PendingSince = state.HasWork ? Now : 0;
        state.OutstandingObservedAt = state.ChangeObservedAt;
        if (state.ChangeObservedAt != 0)
        {
            Services.Metrics.PushLatency(state.TypeUrl, Services.Clock.GetElapsedTime(state.ChangeObservedAt));
            state.ChangeObservedAt = 0;
        }
        Services.Metrics.Pushed(state.TypeUrl, Variant);
    }

    /// <summary>Under the lock: nothing was due after all (same content as already sent or rejected).</summary>
    protected static void NothingDue(TState state)
    {
        state.Respond = false;
        if (!state.HasWork)
        {
            state.PendingSince = 0;
            state.ChangeObservedAt = 0;
        }
    }

    /// <summary>
    /// Under the lock: the ACK/NACK meaning of a request. Only an answer to the latest response of the
    /// type counts; an older nonce is stale and its ACK/NACK is ignored (xDS protocol, "Resource
    /// updates": a nonce becomes stale once a newer one has been sent). A NACK is recognised by
    /// error_detail, never by the version (xDS "ACK and NACK semantics summary"). True when the node
    /// answered the outstanding response.
    /// </summary>
    protected bool Answer(TState state, string responseNonce, Google.Rpc.Status? error)
    {
        if (responseNonce.Length == 0)
        {
            return false;
        }
        if (responseNonce != state.NonceSent)
        {
            DiscoveryLog.StaleNonce(Services.Logger, NodeId, state.TypeUrl, responseNonce, state.NonceSent);
            return false;
        }
        if (!state.AwaitingAck)
        {
            return false; // a later request repeating the latest nonce (e.g. a subscription change): already answered
        }
        state.AwaitingAck = false;
        if (error is not null)
        {
            // The node keeps its last accepted version; the rejected one is not sent again.
            state.VersionRejected = state.VersionSent;
            state.RejectionError = Kept(error);
            state.RejectedAt = Services.Clock.GetUtcNow();
            Services.Metrics.Nack(state.TypeUrl);
            DiscoveryLog.Nack(Services.Logger, NodeId, state.TypeUrl, state.VersionSent, responseNonce, TextLimit.Cut(error.Message, 512));
        }
        else
        {
            state.VersionAcked = AckedVersion(state);
            state.AckedAt = Services.Clock.GetUtcNow();
            state.VersionRejected = "";
            state.RejectionError = null;
            state.RejectedAt = null;
            if (state.OutstandingObservedAt != 0)
            {
                Services.Metrics.AckLatency(state.TypeUrl, Services.Clock.GetElapsedTime(state.OutstandingObservedAt));
            }
        }
        state.OutstandingObservedAt = 0;
        if (state.HasWork)
        {
            // Work held back by the outstanding response can go now; its wait restarts.
            state.PendingSince = Now;
        }
        return true;
    }


    /// <summary>Longest NACK message the fleet view keeps (characters); the rest is cut.</summary>
    internal const int MaxKeptErrorMessage = 2048;

    /// <summary>Most bytes of NACK details the fleet view keeps; details past it are left out.</summary>
    internal const int MaxKeptErrorDetails = 8192;

    /// <summary>
    /// What the fleet view keeps of a NACK's error_detail: its code, its message up to
    /// <see cref="MaxKeptErrorMessage"/> characters, and its details while they fit in
    /// <see cref="MaxKeptErrorDetails"/> bytes. A node's error can be as large as a gRPC message, and is
    /// kept per node and type for as long as the node is listed.
    /// </summary>
    internal static Google.Rpc.Status Kept(Google.Rpc.Status error)
    {
        var kept = new Google.Rpc.Status
        {
            Code = error.Code,
            Message = TextLimit.Cut(error.Message, MaxKeptErrorMessage),
        };
        var size = 0;
        foreach (var detail in error.Details)
        {
            size += detail.CalculateSize();
            if (size > MaxKeptErrorDetails)
            {
                break;
            }
            kept.Details.Add(detail);
        }
        return kept;
    }

    public int QueueDepth
    {
        get
        {
            lock (Sync)
            {
                return Types.Values.Sum(t => t.QueueDepth);
            }
        }
    }

    public string? CheckStuck(TimeSpan timeout)
    {
        lock (Sync)
        {
            if (_closeReason is not null || BlockedSince() is not { } since || Services.Clock.GetElapsedTime(since) < timeout)
            {
                return null;
            }
            return _writeStartedAt != 0 && _writeStartedAt == since
                ? $"the node has not read a response for {timeout.TotalSeconds:0.#} s; reconnect to resume"
                : $"the node has not answered a response for {timeout.TotalSeconds:0.#} s while newer configuration waits; reconnect to resume";
        }
    }

    /// <summary>
    /// Stops the stream: no more reading or new responses. A response being written gets
    /// <see cref="DiscoveryOptions.StuckStreamDrainTimeout"/> to get through, so a node that reads again
    /// receives it and then the UNAVAILABLE status saying why; after that the HTTP/2 stream is reset.
    /// </summary>
    public void Close(string why, bool stuck = true, string? reason = null)
    {
        lock (Sync)
        {
            if (_closeReason is not null || _context is null)
            {
                return;
            }
            _closeErrorReason = reason ?? (stuck ? "stream_stuck" : "shutting_down");
            _closeReason = why;
            _drain = Services.Clock.CreateTimer(static s => ((DiscoveryStream<TRequest, TResponse, TState>)s!).Reset(), this, Services.Options.StuckStreamDrainTimeout, Timeout.InfiniteTimeSpan);
        }
        if (stuck)
        {
            Services.Metrics.StuckStreamClosed();
            DiscoveryLog.Stuck(Services.Logger, Id, NodeId, why);
        }
        try
        {
            _loops?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The stream ended meanwhile.
        }
    }

    private void Reset()
    {
        lock (Sync)
        {
            _context?.HttpContext.Abort();
        }
    }

    /// <summary>Under the lock: since when the node has held back work, as a clock timestamp.</summary>
    private long? BlockedSince()
    {
        long? since = _writeStartedAt != 0 ? _writeStartedAt : null;
        foreach (var state in Types.Values)
        {
            if (state.AwaitingAck && state.HasWork && state.PendingSince != 0 && (since is null || state.PendingSince < since))
            {
                since = state.PendingSince;
            }
        }
        return since;
    }

    public DataplaneStreamStatus Snapshot()
    {
        lock (Sync)
        {
            var now = Services.Clock.GetUtcNow();
            var blocked = BlockedSince() is { } since ? now - Services.Clock.GetElapsedTime(since) : (DateTimeOffset?)null;
            var types = Types.Values.Select(s =>
            {
                var rejection = Rejection(s);
                return new ResourceTypeStatus(
                    s.TypeUrl,
                    s.Wildcard,
                    s.Names.ToArray(),
                    s.ResourceCount,
                    s.VersionSent,
                    s.NonceSent,
                    s.SentAt,
                    s.VersionAcked,
                    s.AckedAt,
                    rejection.Version,
                    rejection.Error?.Clone(),
                    rejection.At,
                    CurrentVersion(s),
                    s.AwaitingAck,
                    s.QueueDepth);
            }).ToArray();
            return new DataplaneStreamStatus(
                Id, Node, Variant, Peer, Services.ControlPlaneId, ConnectedSince, _lastRequestAt, types.Sum(t => t.QueueDepth), blocked, types, Credential);
        }
    }
}
