using System.Diagnostics;
using System.Globalization;
using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// What one changed endpoint costs each node on the delta stream when the fleet is large: a fresh
/// control plane (its own process, as in the fan-out) with <see cref="FanoutSettings.DeltaImages"/>
/// images of one instance each, registered first over gRPC; <see cref="FanoutSettings.DeltaNodes"/>
/// nodes subscribed to every endpoint set (wildcard), each holding the full state; then one instance
/// of one image registered again on another port. Per node: the bytes of the initial state, and the
/// bytes received for the change (everything that arrives from just before it until a quiet pause
/// after every node has it).
/// </summary>
internal static class DeltaPushCost
{
    private static readonly Method<RegisterRequest, RegisterResponse> Register =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    private const string Host = "10.0.0.1";
    private const int FirstPort = 20_000;
    private const int RegisterConcurrency = 64;

    public static async Task<DeltaCostResult> MeasureAsync(FanoutSettings settings, CancellationToken cancellationToken)
    {
        int images = settings.DeltaImages, nodeCount = settings.DeltaNodes;
        Console.WriteLine();
        Console.WriteLine($"Delta push cost: {images:N0} images of one instance each, {nodeCount:N0} wildcard nodes over {FanoutSettings.ConnectionsText(settings.Connections)} (load average {ProcFs.LoadAverage()})");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.StartTimeout);
        var ct = deadline.Token;
        await using var server = await ControlPlaneServer.StartAsync(
            new Dictionary<string, string> { ["ControlPlane:MaxStreamsPerConnection"] = Math.Max(100, nodeCount + 100).ToString(CultureInfo.InvariantCulture) },
            ct);
        var writers = Enumerable.Range(0, 2).Select(_ => GrpcChannel.ForAddress(server.GrpcUrl)).ToArray();
        var channels = Enumerable.Range(0, settings.Connections).Select(_ => GrpcChannel.ForAddress(server.GrpcUrl)).ToArray();
        var nodes = new DeltaNodeClient?[nodeCount];
        var closing = false;
        try
        {
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, images), new ParallelOptions { MaxDegreeOfParallelism = RegisterConcurrency, CancellationToken = ct }, async (i, token) =>
            {
                await writers[i % writers.Length].AsyncUnaryCall(Register, Registration(i, FirstPort + i), new CallOptions(cancellationToken: token));
            });
            var registered = clock.Elapsed;
            await server.WaitForMetricAsync("controlplane_discovery_resources", "type=\"EndpointSet\"", images, TimeSpan.FromSeconds(60), ct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {images:N0} images registered in {registered.TotalSeconds:0.0} s ({RegisterConcurrency} concurrent calls), in the server's cache after {clock.Elapsed.TotalSeconds:0.0} s"));

            // Phase 1: every node holds the full state (the server splits it into responses of about 1 MB).
            var initial = NewSignals(nodeCount);
            var changed = NewSignals(nodeCount);
            var changedImage = ImageName(images / 2);
            var changedPort = FirstPort + images + 1;
            var changeArmed = false;
            var changeStart = 0L;
            var changeAt = new long[nodeCount];
            void OnResponse(DeltaNodeClient node, DeltaResourcesResponse response, int bytes)
            {
                if (!initial[node.Index].Task.IsCompleted)
                {
                    if (node.ResourcesReceived >= images)
                    {
                        initial[node.Index].TrySetResult();
                    }
                    return;
                }
                if (!Volatile.Read(ref changeArmed))
                {
                    throw new InvalidOperationException($"Node {node.Index} received a response when no change was made: {response.Resources.Count} resources, {response.RemovedResources.Count} removals.");
                }
                foreach (var resource in response.Resources)
                {
                    if (resource.Name == changedImage && EndpointSet.Parser.ParseFrom(resource.Resource_.Value).Endpoints.Any(e => e.Port == changedPort))
                    {
                        changeAt[node.Index] = Stopwatch.GetTimestamp();
                        changed[node.Index].TrySetResult();
                    }
                }
            }
            var watches = new Task[nodeCount];
            clock.Restart();
            await Parallel.ForEachAsync(Enumerable.Range(0, nodeCount), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, token) =>
            {
                var node = await DeltaNodeClient.OpenAsync(channels[i % channels.Length], i, "delta-node-" + i.ToString("D4", CultureInfo.InvariantCulture), "bench-zone-a", OnResponse, token);
                nodes[i] = node;
                watches[i] = Fail(node, initial[i], changed[i], () => Volatile.Read(ref closing));
                await initial[i].Task.WaitAsync(token);
            });
            var loaded = clock.Elapsed;
            var initialBytes = nodes.Select(n => n!.BytesReceived).ToArray();
            var initialResponses = nodes.Select(n => n!.ResponsesReceived).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {nodeCount:N0} nodes hold all {images:N0} endpoint sets after {loaded.TotalSeconds:0.0} s: median {Median(initialBytes):N0} bytes in {Median(initialResponses.Select(r => (long)r).ToArray())} responses per node"));

            // Phase 2: one instance of one image moves to another port.
            await Task.Delay(settings.Settle, ct);
            var bytesBefore = nodes.Select(n => n!.BytesReceived).ToArray();
            var responsesBefore = nodes.Select(n => n!.ResponsesReceived).ToArray();
            var resourcesBefore = nodes.Select(n => n!.ResourcesReceived).ToArray();
            var cpu = ProcFs.CpuTime(server.ProcessId);
            Volatile.Write(ref changeArmed, true);
            changeStart = Stopwatch.GetTimestamp();
            await writers[0].AsyncUnaryCall(Register, Registration(images / 2, changedPort), new CallOptions(cancellationToken: ct));
            await Task.WhenAll(changed.Select(c => c.Task)).WaitAsync(settings.ChangeTimeout, ct);
            var serverCpu = ProcFs.CpuTime(server.ProcessId) - cpu;
            var converged = changeAt.Select(t => Stopwatch.GetElapsedTime(changeStart, t)).Order().ToArray();
            // Anything else the change causes arrives within the pause, and is counted too.
            await Task.Delay(settings.Settle, ct);
            var changeBytes = nodes.Select((n, i) => n!.BytesReceived - bytesBefore[i]).ToArray();
            var changeResponses = nodes.Select((n, i) => (long)(n!.ResponsesReceived - responsesBefore[i])).ToArray();
            var changeResources = nodes.Select((n, i) => (long)(n!.ResourcesReceived - resourcesBefore[i])).ToArray();
            var result = new DeltaCostResult(
                images,
                nodeCount,
                settings.Connections,
                Median(initialBytes),
                Median(initialResponses.Select(r => (long)r).ToArray()),
                Median(changeBytes),
                changeBytes.Max(),
                Median(changeResponses),
                Median(changeResources),
                converged[converged.Length / 2],
                converged[^1],
                serverCpu,
                settings.Settle);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  one changed instance of {changedImage}: median {result.ChangeBytes:N0} bytes per node (max {result.ChangeBytesMax:N0}) in {result.ChangeResponses} response(s) of {result.ChangeResources} resource(s); " +
                $"p50 {converged[converged.Length / 2].TotalMilliseconds:0.0} ms, all {converged[^1].TotalMilliseconds:0.0} ms; server CPU {serverCpu.TotalMilliseconds:0} ms"));
            return result;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Delta push cost: not done within {settings.StartTimeout.TotalSeconds:0} s.");
        }
        finally
        {
            Volatile.Write(ref closing, true);
            foreach (var node in nodes)
            {
                node?.Close();
            }
            foreach (var channel in channels.Concat(writers))
            {
                channel.Dispose();
            }
        }
    }

    private static TaskCompletionSource[] NewSignals(int count) =>
        Enumerable.Range(0, count).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

    /// <summary>A node's reader ending before the benchmark closes it fails whatever the node was waiting for.</summary>
    private static async Task Fail(DeltaNodeClient node, TaskCompletionSource initial, TaskCompletionSource changed, Func<bool> closing)
    {
        try
        {
            await node.Reader;
        }
        catch (Exception ex) when (!closing())
        {
            initial.TrySetException(ex);
            changed.TrySetException(ex);
        }
    }

    private static string ImageName(int i) => "img.delta." + i.ToString("D5", CultureInfo.InvariantCulture);

    private static RegisterRequest Registration(int i, int port) => new()
    {
        Name = "svc-delta-" + i.ToString("D5", CultureInfo.InvariantCulture),
        Image = ImageName(i),
        InstanceId = "delta-" + i.ToString("D5", CultureInfo.InvariantCulture),
        Host = Host,
        Port = port,
        Region = "eu-central",
        Metadata = new Struct { Fields = { ["weight"] = Value.ForNumber(2) } },
        TtlSeconds = 3600,
    };

    private static long Median(long[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}

/// <summary>
/// The delta push cost: per node (medians over the nodes), the bytes and responses of the full initial
/// state, and of one changed instance; with how long the change took to reach the nodes.
/// </summary>
internal sealed record DeltaCostResult(
    int Images,
    int Nodes,
    int Connections,
    long InitialBytes,
    long InitialResponses,
    long ChangeBytes,
    long ChangeBytesMax,
    long ChangeResponses,
    long ChangeResources,
    TimeSpan ChangeP50,
    TimeSpan ChangeAll,
    TimeSpan ServerCpu,
    TimeSpan QuietPause)
{
    /// <summary>The initial state's bytes per endpoint set: what one resource costs a node on average.</summary>
    public double InitialBytesPerResource => InitialBytes / (double)Images;

    /// <summary>How many average resources' worth of bytes the change cost: about 1 when the push is in proportion to the change.</summary>
    public double ChangeInResources => ChangeBytes / InitialBytesPerResource;

    public double ChangeShareOfInitial => ChangeBytes / (double)InitialBytes;

    /// <summary>The aim: a change of one endpoint costs a node about one resource's bytes (at most 2), not the fleet's.</summary>
    public bool AimMet => ChangeInResources <= 2;
}
