using ControlPlane.Benchmarks.Http2;
using System.Diagnostics;
using System.Globalization;
using ControlPlane.Benchmarks.Fanout.Etcd;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using Google.Protobuf;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// The baseline: etcd's watch fan-out. N gRPC Watch streams (etcdserverpb.Watch/Watch), one watcher
/// each on the same key, spread round-robin over the benchmark's HTTP/2 connections; a change is one
/// KV/Put of that key on a connection of its own, and a watcher has it when its stream delivers the
/// Put's event. Memory per idle watcher is etcd's resident set with N idle watchers minus with none
/// (etcd is its own process, so nothing of this process is counted), beside the Go runtime's own
/// heap-and-stacks figure from etcd's /metrics.
/// </summary>
internal sealed class EtcdWatchTarget(FanoutSettings settings) : IFanoutTarget
{
    public static readonly Method<PutRequest, PutResponse> Put =
        new(RpcReflection.Descriptor.Services.Single(s => s.Name == "KV").FindMethodByName("Put"));

    public static readonly Method<WatchRequest, WatchResponse> Watch =
        new(RpcReflection.Descriptor.Services.Single(s => s.Name == "Watch").FindMethodByName("Watch"));

    /// <summary>The one watched key.</summary>
    private static readonly ByteString Key = ByteString.CopyFromUtf8("/controlplane/fanout/endpoints");

    private EtcdServer? _server;
    private string _version = "?";
    private LeanStreamConnection[] _connections = [];
    private GrpcChannel? _writer;
    private ConvergenceRecorder? _recorder;
    private TaskCompletionSource[] _created = [];
    private IdleMemory[] _memory = [];
    private volatile ByteString? _expected;
    private volatile bool _closing;
    private int _changes;

    public string Name => "etcd";

    public string Description =>
        $"etcd {_version} (Debian etcd-server), one member, its data directory on {(EtcdServer.DataOnTmpfs ? "tmpfs" : "disk")}, " +
        $"one watcher per gRPC Watch stream, on the lean HTTP/2 client, streams spread over {FanoutSettings.ConnectionsText(settings.Connections)}, changes Put on one more connection; " +
        "Go collects garbage on its own schedule (when the heap has doubled), so both memory figures can include some left from opening the streams";

    public IReadOnlyList<IdleMemory> Memory => _memory;

    public async Task StartAsync(int watchers, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.StartTimeout);
        var ct = deadline.Token;
        try
        {
            _version = await EtcdServer.VersionAsync(ct) ?? throw new InvalidOperationException("etcd is not installed: apt-get install etcd-server.");
            _server = await EtcdServer.StartAsync(ct);
            Console.WriteLine($"  etcd {_version}: pid {_server.ProcessId}, {_server.ClientUrl}, data in {_server.DataDir}");
            _writer = GrpcChannel.ForAddress(_server.ClientUrl);
            // The connections are open (and have etcd's SETTINGS) before any watcher, so the baseline memory has them.
            _connections = await Task.WhenAll(Enumerable.Range(0, settings.Connections).Select(_ => LeanStreamConnection.ConnectAsync(_server.ClientUrl, ct)));
            await _writer.AsyncUnaryCall(Put, new PutRequest { Key = Key, Value = ByteString.CopyFromUtf8("initial") }, new CallOptions(cancellationToken: ct));
            var connections = ProcFs.EstablishedConnectionsTo(_server.ClientPort);

            await Task.Delay(settings.Settle, ct);
            long rssBefore = _server.ResidentBytes(), goBefore = await _server.GoMemoryInUseAsync(ct);

            // In two halves, read between them: the second half's growth is what one more watcher costs.
            var clock = Stopwatch.StartNew();
            PrepareWatchers(watchers);
            await OpenWatchersAsync(0, watchers / 2, ct);
            var halfOpened = clock.Elapsed;
            await Task.Delay(settings.Settle, ct);
            long rssMiddle = _server.ResidentBytes(), goMiddle = await _server.GoMemoryInUseAsync(ct);
            clock.Restart();
            await OpenWatchersAsync(watchers / 2, watchers, ct);
            var opened = halfOpened + clock.Elapsed;
            var connectionsAfter = ProcFs.EstablishedConnectionsTo(_server.ClientPort);
            // Besides the watch and put connections: this process's HTTP/1.1 client for /health and /metrics,
            // and etcd's own gRPC gateway, which connects to its client port.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {watchers:N0} watch streams open and created in {opened.TotalSeconds:0.0} s; TCP connections to etcd's client port: " +
                $"{connections} before the watchers ({settings.Connections} watch, 1 put, {connections - settings.Connections - 1} others), {connectionsAfter} after; " +
                $"etcd: {ProcFs.Threads(_server.ProcessId)} threads, {ProcFs.OpenFiles(_server.ProcessId)} open files"));
            if (connectionsAfter != connections)
            {
                Console.WriteLine("  note: the client opened more connections than asked for: etcd limits the concurrent streams per connection.");
            }

            await Task.Delay(settings.Settle, ct);
            _server.ThrowIfExited();
            long rssAfter = _server.ResidentBytes(), goAfter = await _server.GoMemoryInUseAsync(ct);
            _memory =
            [
                new IdleMemory("etcd's resident set (VmRSS of its process)", rssBefore, rssMiddle, rssAfter, watchers),
                new IdleMemory("etcd's Go heap spans and goroutine stacks in use (/metrics)", goBefore, goMiddle, goAfter, watchers),
            ];
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"etcd: {watchers:N0} watchers were not created within {settings.StartTimeout.TotalSeconds:0} s.");
        }
    }

    private void PrepareWatchers(int watchers)
    {
        _recorder = new ConvergenceRecorder(watchers);
        _created = new TaskCompletionSource[watchers];
        for (var i = 0; i < watchers; i++)
        {
            _created[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Opens watchers [<paramref name="from"/>, <paramref name="to"/>), a bounded number at a time, each waiting for etcd to confirm it.</summary>
    private async Task OpenWatchersAsync(int from, int to, CancellationToken ct)
    {
        var create = new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Key } };
        var options = new ParallelOptions { MaxDegreeOfParallelism = settings.OpeningConcurrency, CancellationToken = ct };
        await Parallel.ForEachAsync(Enumerable.Range(from, to - from), options, async (i, token) =>
        {
            var watcher = new Watcher(i, _created[i], this);
            await _connections[i % _connections.Length].OpenAsync(Watch.Path, create, watcher.OnMessage, watcher.OnFailed, token);
            await _created[i].Task.WaitAsync(token);
        });
    }

    /// <summary>
    /// One watch stream's reader, on its connection's reader: the created confirmation first, then one
    /// event per change, each of which must carry the value of the change being measured.
    /// </summary>
    private sealed class Watcher(int index, TaskCompletionSource created, EtcdWatchTarget target)
    {
        public IMessage? OnMessage(ReadOnlyMemory<byte> message)
        {
            var response = WatchResponse.Parser.ParseFrom(message.Span);
            if (response.Canceled || response.CompactRevision != 0)
            {
                throw new InvalidOperationException($"etcd canceled watcher {index}: {response.CancelReason}");
            }
            if (response.Created)
            {
                if (!created.TrySetResult())
                {
                    throw new InvalidOperationException($"Watcher {index} was created twice.");
                }
                return null;
            }
            if (!created.Task.IsCompleted)
            {
                throw new InvalidOperationException($"Watcher {index} received a response before its watch was created.");
            }
            foreach (var e in response.Events)
            {
                var expected = target._expected;
                if (e.Type != Event.Types.EventType.Put || expected is null || !e.Kv.Value.Equals(expected))
                {
                    throw new InvalidOperationException(
                        $"Watcher {index} received an event that is not the change being measured ({e.Type} of '{e.Kv?.Value.ToStringUtf8()}').");
                }
                target._recorder!.Received(index);
            }
            return null;
        }

        /// <summary>The stream ending while the benchmark runs fails the watcher's start or the change being measured.</summary>
        public void OnFailed(Exception ex)
        {
            if (!target._closing)
            {
                created.TrySetException(ex);
                target._recorder!.Fail(ex);
            }
        }
    }

    public async Task<FanoutChange> MeasureOneChangeAsync(CancellationToken cancellationToken)
    {
        if (_server is null || _writer is null || _recorder is null)
        {
            throw new InvalidOperationException("StartAsync first.");
        }
        _server.ThrowIfExited();
        var value = ByteString.CopyFromUtf8("change-" + (++_changes).ToString(CultureInfo.InvariantCulture));
        var put = new PutRequest { Key = Key, Value = value };
        _expected = value;
        var cpu = ProcFs.CpuTime(_server.ProcessId);
        var start = _recorder.Arm();
        TimeSpan answered;
        try
        {
            await _writer.AsyncUnaryCall(Put, put, new CallOptions(cancellationToken: cancellationToken));
            answered = Stopwatch.GetElapsedTime(start);
        }
        catch (Exception ex)
        {
            // No further change can be measured on these watchers.
            _recorder.Fail(ex);
            throw;
        }
        var converged = await _recorder.WaitAsync(settings.ChangeTimeout, cancellationToken);
        return new FanoutChange(converged, answered, ProcFs.CpuTime(_server.ProcessId) - cpu);
    }

    public async ValueTask DisposeAsync()
    {
        _closing = true;
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
        _writer?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
