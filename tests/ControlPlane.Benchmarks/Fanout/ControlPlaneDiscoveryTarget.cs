using System.Diagnostics;
using System.Globalization;
using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Benchmarks.Http2;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Discovery;
using ControlPlane.Server.Resources;
using Google.Protobuf.WellKnownTypes;
using HealthCheckRequest = Grpc.Health.V1.HealthCheckRequest;
using HealthCheckResponse = Grpc.Health.V1.HealthCheckResponse;
using HealthReflection = Grpc.Health.V1.HealthReflection;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// The control plane's side: its server in a process of its own (<see cref="ControlPlaneServer"/>),
/// N nodes each on its own DeltaResources stream subscribed to every endpoint set (wildcard), the
/// streams spread round-robin over the benchmark's HTTP/2 connections, each node acknowledging every
/// response, on the lean HTTP/2 client (<see cref="LeanStreamConnection"/>) that etcd's watchers use too. The store holds one image with one instance before the
/// nodes connect, and every node holds that endpoint set before anything is measured. A change is one
/// RegistryService/Register of a new instance of that image on a connection of its own (a distinct
/// instance each time, so nothing is undone between changes); a node has it when its stream delivers
/// the endpoint set that lists the new instance. Memory per idle node is the server's resident set
/// with N idle streams minus with none, beside its managed heap from /metrics.
/// </summary>
/// With <paramref name="bareKestrel"/>, the server is <see cref="BareKestrelFanoutServer"/> instead: the ceiling.
internal sealed class ControlPlaneDiscoveryTarget(FanoutSettings settings, bool bareKestrel = false) : IFanoutTarget
{
    public const string Image = "img.fanout.watched";
    private const string Service = "svc-fanout";
    private const string Host = "10.0.0.1";
    private const int FirstPort = 20_000;
    private const string Zone = "bench-zone-a";

    private static readonly Method<RegisterRequest, RegisterResponse> Register =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    private static readonly Method<HealthCheckRequest, HealthCheckResponse> HealthCheck =
        new(HealthReflection.Descriptor.Services[0].FindMethodByName("Check"));

    private static readonly string DeltaResourcesPath = DeltaNodeClient.DeltaResources.Path;

    private ControlPlaneServer? _server;
    private string _version = "?";
    private LeanStreamConnection[] _connections = [];
    private GrpcChannel? _writer;
    private ConvergenceRecorder? _recorder;
    private TaskCompletionSource[] _opened = [];
    private IdleMemory[] _memory = [];
    private volatile string? _expected;
    private volatile bool _closing;
    private int _changes;
    private int _nodes;

    public string Name => bareKestrel ? BareKestrelName : "control plane";

    public const string BareKestrelName = "bare Kestrel";

    public string Description => bareKestrel
        ? $"the ceiling: a bare Kestrel app (`{BareKestrelFanoutServer.CommandName}` of this benchmark, {Configuration}) in its own process, in place of the control plane, with the same client, nodes and " +
          "registrations; on each registration it serializes one response and writes the same bytes to every stream, and it reads the ACKs and drops them unparsed: " +
          "Kestrel's share of a push and its ACK, none of the protocol's work (one nonce for all, no versions or subscriptions kept)"
        : $"ControlPlane.Server {_version}, from this build ({Configuration}), in its own process: `dotnet {ControlPlaneServer.AssemblyName}`, embedded store, logging at Warning, " +
        $"debounce at its default ({new DiscoveryOptions().DebounceWindow.TotalMilliseconds:0} ms; the first change after a quiet window is applied at once), " +
        "`ControlPlane:MaxStreamsPerConnection` set 100 above the watcher count, so that the limit never binds; " +
        "one node per DeltaResources stream, subscribed to every endpoint set (wildcard) and acknowledging every response (after the node has been timed; " +
        "an ACK is one more message per node and change, which etcd's watchers do not send), on the lean HTTP/2 client, streams spread over " +
        $"{FanoutSettings.ConnectionsText(settings.Connections)}, changes registered on one more connection; " +
        "its resident set is read as the process has it (server GC with DATAS, collecting on its own schedule), like etcd's, and only then is a full collection forced for the managed-heap figure";

    public IReadOnlyList<IdleMemory> Memory => _memory;

    /// <summary>The server's assembly is copied from this build: the same configuration.</summary>
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public async Task StartAsync(int watchers, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.StartTimeout);
        var ct = deadline.Token;
        try
        {
            // Enough for every stream on one connection: the client never opens connections beyond the benchmark's.
            var maxStreamsPerConnection = watchers + 100;
            var options = new Dictionary<string, string>
            {
                ["ControlPlane:MaxStreamsPerConnection"] = maxStreamsPerConnection.ToString(CultureInfo.InvariantCulture),
            };
            _server = bareKestrel ? await ControlPlaneServer.StartBareKestrelAsync(options, ct) : await ControlPlaneServer.StartAsync(options, ct);
            _version = await _server.VersionAsync(ct);
            Console.WriteLine($"  {Name} {_version}: pid {_server.ProcessId}, {_server.GrpcUrl}, ops {_server.HttpUrl}");
            _writer = GrpcChannel.ForAddress(_server.GrpcUrl);
            // The connections are open (and have the server's SETTINGS) before any node, so the baseline memory has them.
            _connections = await Task.WhenAll(Enumerable.Range(0, settings.Connections).Select(_ => LeanStreamConnection.ConnectAsync(_server.GrpcUrl, ct)));
            await _writer.AsyncUnaryCall(HealthCheck, new HealthCheckRequest(), new CallOptions(cancellationToken: ct));
            // The state every node holds before measuring: the watched image with one instance.
            await _writer.AsyncUnaryCall(Register, Registration(InstanceId(0), FirstPort), new CallOptions(cancellationToken: ct));
            await _server.WaitForMetricAsync("controlplane_discovery_resources", "type=\"EndpointSet\"", 1, TimeSpan.FromSeconds(30), ct);
            var connections = ProcFs.EstablishedConnectionsTo(_server.GrpcPort);

            await Task.Delay(settings.Settle, ct);
            // The resident set first, as the process has it (as etcd's is read); then a full collection for the heap.
            long rssBefore = _server.ResidentBytes(), heapBefore = await _server.ManagedHeapAfterFullGcAsync(ct);

            // In two halves, read between them: the second half's growth is what one more stream costs.
            var clock = Stopwatch.StartNew();
            PrepareNodes(watchers);
            await OpenNodesAsync(0, watchers / 2, ct);
            var halfOpened = clock.Elapsed;
            await Task.Delay(settings.Settle, ct);
            long rssMiddle = _server.ResidentBytes(), heapMiddle = await _server.ManagedHeapAfterFullGcAsync(ct);
            clock.Restart();
            await OpenNodesAsync(watchers / 2, watchers, ct);
            var opened = halfOpened + clock.Elapsed;
            var connectionsAfter = ProcFs.EstablishedConnectionsTo(_server.GrpcPort);
            var streams = await _server.MetricAsync("controlplane_discovery_streams", ct, "variant=\"delta\"");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {watchers:N0} discovery streams open, each node holding {Image}, in {opened.TotalSeconds:0.0} s; TCP connections to the gRPC port: " +
                $"{connections} before the nodes ({settings.Connections} node, 1 register), {connectionsAfter} after; server: {streams:N0} delta streams, " +
                $"{ProcFs.Threads(_server.ProcessId)} threads, {ProcFs.OpenFiles(_server.ProcessId)} open files"));
            if (connectionsAfter != connections)
            {
                Console.WriteLine("  note: the client opened more connections than asked for: the server limits the concurrent streams per connection.");
            }

            await Task.Delay(settings.Settle, ct);
            _server.ThrowIfExited();
            long rssAfter = _server.ResidentBytes(), heapAfter = await _server.ManagedHeapAfterFullGcAsync(ct);
            _memory =
            [
                new IdleMemory("the control plane's resident set (VmRSS of its process)", rssBefore, rssMiddle, rssAfter, watchers),
                new IdleMemory("its managed heap after a full garbage collection (forced through the diagnostics port after reading the resident set; /metrics dotnet_gc_last_collection_heap_size_bytes, all generations)", heapBefore, heapMiddle, heapAfter, watchers),
            ];
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"control plane: {watchers:N0} nodes did not all hold the initial state within {settings.StartTimeout.TotalSeconds:0} s.");
        }
    }

    private void PrepareNodes(int watchers)
    {
        _recorder = new ConvergenceRecorder(watchers);
        _opened = new TaskCompletionSource[watchers];
        for (var i = 0; i < watchers; i++)
        {
            _opened[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Opens the streams of nodes [<paramref name="from"/>, <paramref name="to"/>), a bounded number at a time, each waiting until its node holds the initial endpoint set.</summary>
    private async Task OpenNodesAsync(int from, int to, CancellationToken ct)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = settings.OpeningConcurrency, CancellationToken = ct };
        await Parallel.ForEachAsync(Enumerable.Range(from, to - from), options, async (i, token) =>
        {
            var subscribe = new DeltaResourcesRequest
            {
                Node = new Node { Id = "fanout-node-" + i.ToString("D5", CultureInfo.InvariantCulture), Zone = Zone, UserAgentName = "controlplane-benchmark" },
                TypeUrl = ResourceTypes.EndpointSet,
                ResourceNamesSubscribe = { "*" },
            };
            Interlocked.Increment(ref _nodes);
            await _connections[i % _connections.Length].OpenAsync(DeltaResourcesPath, subscribe, message => OnMessage(i, message), ex => OnFailed(i, ex), token);
            await _opened[i].Task.WaitAsync(token);
        });
    }

    /// <summary>On the connection's reader: a node's response, answered with its ACK (after the node has been timed).</summary>
    private DeltaResourcesRequest OnMessage(int node, ReadOnlyMemory<byte> message)
    {
        var response = DeltaResourcesResponse.Parser.ParseFrom(message.Span);
        OnResponse(node, response);
        return new DeltaResourcesRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };
    }

    /// <summary>A node's stream ending while the benchmark runs fails the node's start or the change being measured.</summary>
    private void OnFailed(int node, Exception ex)
    {
        if (!_closing)
        {
            _opened[node].TrySetException(ex);
            _recorder!.Fail(ex);
        }
    }

    /// <summary>On a node's reader: its first response must hold the initial state, every later one the change being measured.</summary>
    private void OnResponse(int node, DeltaResourcesResponse response)
    {
        var opened = _opened[node];
        if (!opened.Task.IsCompleted)
        {
            if (!Lists(response, InitialInstance))
            {
                throw new InvalidOperationException($"Node {node}'s first response does not hold {Image} with {InitialInstance}: {Describe(response)}.");
            }
            opened.TrySetResult();
            return;
        }
        var expected = _expected;
        if (expected is null || response.RemovedResources.Count > 0 || !Lists(response, expected))
        {
            throw new InvalidOperationException($"Node {node} received a response that is not the change being measured ({expected ?? "none"}): {Describe(response)}.");
        }
        _recorder!.Received(node);
    }

    private static string InitialInstance => InstanceId(0);

    private static string InstanceId(int change) => "fanout-" + change.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>
    /// True when <paramref name="response"/> carries the watched image's endpoint set and its encoded
    /// content holds <paramref name="instanceId"/> (each instance id is a distinct string, and the set
    /// lists it only as an endpoint's id). The content is searched, not decoded: etcd's watchers
    /// compare the value's bytes too, so both sides' clients do the same work on a change.
    /// </summary>
    private static bool Lists(DeltaResourcesResponse response, string instanceId)
    {
        foreach (var resource in response.Resources)
        {
            if (resource.Name == Image)
            {
                Span<byte> id = stackalloc byte[Encoding.UTF8.GetMaxByteCount(instanceId.Length)];
                id = id[..Encoding.UTF8.GetBytes(instanceId, id)];
                return resource.Resource_.Value.Span.IndexOf(id) >= 0;
            }
        }
        return false;
    }

    private static string Describe(DeltaResourcesResponse response) =>
        $"{response.Resources.Count} resources ({string.Join(", ", response.Resources.Take(3).Select(r => r.Name + "@" + r.Version))}), " +
        $"{response.RemovedResources.Count} removals";

    private static RegisterRequest Registration(string instanceId, int port) => new()
    {
        Name = Service,
        Image = Image,
        InstanceId = instanceId,
        Host = Host,
        Port = port,
        Region = "eu-central",
        Metadata = new Struct { Fields = { ["weight"] = Value.ForNumber(2) } },
        // The longest lease: nothing expires (and is pushed) while the benchmark runs.
        TtlSeconds = 3600,
    };

    public async Task<FanoutChange> MeasureOneChangeAsync(CancellationToken cancellationToken)
    {
        if (_server is null || _writer is null || _recorder is null)
        {
            throw new InvalidOperationException("StartAsync first.");
        }
        _server.ThrowIfExited();
        var change = ++_changes;
        var registration = Registration(InstanceId(change), FirstPort + change);
        _expected = registration.InstanceId;
        var cpu = ProcFs.CpuTime(_server.ProcessId);
        var answered = await _recorder.RegisterAsync(_writer, registration, cancellationToken);
        var converged = await _recorder.WaitAsync(settings.ChangeTimeout, cancellationToken);
        return new FanoutChange(converged, answered, ProcFs.CpuTime(_server.ProcessId) - cpu);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null && _recorder is not null && _changes > 0 && !bareKestrel)
        {
            await ReportServerViewAsync(_server);
        }
        _closing = true;
        var nodes = Volatile.Read(ref _nodes);
        var leaving = Stopwatch.StartNew();
        var cpu = _server is not null && nodes > 0 ? ProcFs.CpuTime(_server.ProcessId) : TimeSpan.Zero;
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
        _writer?.Dispose();
        if (_server is not null)
        {
            await ReportReleaseAsync(_server, nodes, leaving, cpu);
            await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// Diagnostics for the console: the server's own push and ACK latency histograms over every
    /// change of this count (warm-up included), from the change being signalled to the response being
    /// written, and to its ACK being read.
    /// </summary>
    private static async Task ReportServerViewAsync(ControlPlaneServer server)
    {
        try
        {
            const string Type = "type=\"EndpointSet\"";
            var push = await server.HistogramAsync("controlplane_discovery_push_latency_seconds", Type, CancellationToken.None);
            var ack = await server.HistogramAsync("controlplane_discovery_ack_latency_seconds", Type, CancellationToken.None);
            Console.WriteLine($"  control plane's own view over these changes: push latency (change signalled to response written) {ControlPlaneServer.Quantiles(push)}; " +
                $"ACK latency (to the ACK read) {ControlPlaneServer.Quantiles(ack)}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"  control plane's own view: not available ({ex.Message})");
        }
    }

    /// <summary>Diagnostics for the console: how long the server takes to let go of every stream once the nodes have left.</summary>
    private static async Task ReportReleaseAsync(ControlPlaneServer server, int streams, Stopwatch clock, TimeSpan cpu)
    {
        if (streams == 0)
        {
            return;
        }
        try
        {
            await server.WaitForMetricAsync("controlplane_discovery_streams", "variant=\"delta\"", 0, TimeSpan.FromSeconds(60), CancellationToken.None);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  control plane: all {streams:N0} streams released {clock.Elapsed.TotalSeconds:0.0} s after the nodes left (server CPU {(ProcFs.CpuTime(server.ProcessId) - cpu).TotalSeconds:0.0} s meanwhile)"));
        }
        catch (Exception ex) when (ex is TimeoutException or HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            Console.WriteLine($"  control plane: streams not all released: {ex.Message}");
        }
    }
}
