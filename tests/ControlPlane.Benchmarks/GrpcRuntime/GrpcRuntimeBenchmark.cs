using System.Diagnostics;
using System.Globalization;
using ControlPlane.Benchmarks.V1;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// Issue 2, deliverable 9: unary calls/s and streamed messages/s of our runtime over loopback
/// h2c, beside a raw Kestrel handler sending the same bytes, in alternating rounds of one run.
/// </summary>
internal static class GrpcRuntimeBenchmark
{
    /// <summary>Frames per client write in the client-streaming run (about 7 KB at 100-byte payloads).</summary>
    private const int FramesPerChunk = 64;

    /// <summary>One measured run: a target, ramp-up, window; returns its rate per second.</summary>
    private delegate Task<double> Run(TimeSpan ramp, TimeSpan duration);

    public static async Task<int> RunAsync(GrpcRuntimeSettings settings, CancellationToken cancellationToken)
    {
        var h2load = await H2Load.VersionAsync(cancellationToken);
        if (h2load is null)
        {
            Console.Error.WriteLine("h2load is not installed; it is in Debian's nghttp2-client: apt-get install -y nghttp2-client");
            return 2;
        }
#if DEBUG
        Console.Error.WriteLine("warning: a Debug build; benchmark with -c Release.");
#endif
        Console.WriteLine($"{settings.Command}{Environment.NewLine}{Environment.ProcessorCount} cores, {h2load}");
        var clock = Stopwatch.StartNew();
        var dataFile = Path.GetTempFileName();
        try
        {
            await using var servers = await BenchmarkServers.StartAsync(cancellationToken);
            Console.WriteLine($"ours: {servers.Ours}  raw: {servers.Raw}");
            var results = await MeasureAllAsync(settings, servers, dataFile, cancellationToken);
            var section = BenchmarkReport.Section(settings, h2load, DateTimeOffset.UtcNow, results.Server, results.Client);
            Console.WriteLine();
            Console.WriteLine(section);
            if (settings.OutputPath is { } path)
            {
                BenchmarkReport.Write(path, section);
                Console.WriteLine($"Wrote the section '{BenchmarkReport.Heading[3..]}' of {path}.");
            }
            Console.WriteLine($"Took {clock.Elapsed.TotalSeconds:0} s.");
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("Interrupted.");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
        {
            Console.Error.WriteLine($"Benchmark failed: {ex}");
            return 1;
        }
        finally
        {
            File.Delete(dataFile);
        }
    }

    private static async Task<(IReadOnlyList<Comparison> Server, Comparison Client)> MeasureAllAsync(
        GrpcRuntimeSettings s, BenchmarkServers servers, string dataFile, CancellationToken ct)
    {
        var payload = GrpcFrames.ZeroPayload(s.PayloadSize);
        var frame = GrpcFrames.Frame(payload);
        await File.WriteAllBytesAsync(dataFile, frame, ct);
        var messagesPerCall = Math.Max(FramesPerChunk, s.MessagesPerCall / FramesPerChunk * FramesPerChunk);
        var streamRequest = GrpcFrames.Frame(new StreamRequest { Count = messagesPerCall, Size = s.PayloadSize });
        var chunk = GrpcFrames.Repeat(frame, FramesPerChunk);
        var unary = GrpcFrames.PathOf(nameof(BenchHandler.Unary));
        var serverStream = GrpcFrames.PathOf(nameof(BenchHandler.ServerStream));
        var clientStream = GrpcFrames.PathOf(nameof(BenchHandler.ClientStream));
        var pingPong = GrpcFrames.PathOf(nameof(BenchHandler.PingPong));

        Console.WriteLine("Checking that both servers send the same bytes:");
        using (var check = new HttpLoad(1))
        {
            var http = check.Connection(0);
            await WireCheck.VerifyAsync(http, servers.Ours, servers.Raw, unary, frame, frame, ct);
            await WireCheck.VerifyAsync(http, servers.Ours, servers.Raw, serverStream,
                GrpcFrames.Frame(new StreamRequest { Count = 3, Size = s.PayloadSize }), GrpcFrames.Repeat(frame, 3), ct);
            await WireCheck.VerifyAsync(http, servers.Ours, servers.Raw, clientStream,
                GrpcFrames.Repeat(frame, 5), GrpcFrames.Frame(new StreamSummary { Messages = 5 }), ct);
            await WireCheck.VerifyAsync(http, servers.Ours, servers.Raw, pingPong, GrpcFrames.Repeat(frame, 3), GrpcFrames.Repeat(frame, 3), ct);
        }

        var calls = s.Connections * s.StreamingCalls;
        Run OnBoth(Uri server, Func<Uri, TimeSpan, TimeSpan, Task<double>> measure) => (ramp, duration) => measure(server, ramp, duration);
        async Task<Comparison> ServerAsync(string metric, Func<Uri, TimeSpan, TimeSpan, Task<double>> measure) =>
            await CompareAsync(s, metric, [("ours", OnBoth(servers.Ours, measure)), ("raw", OnBoth(servers.Raw, measure))], baseline: 1, ct);

        var server = new List<Comparison>
        {
            await ServerAsync("unary calls/s", (uri, ramp, duration) =>
                H2Load.RequestsPerSecondAsync(new Uri(uri, unary), dataFile, s.Connections, s.Streams, ramp, duration, ct)),
            await ServerAsync("server-streamed messages/s", async (uri, ramp, duration) =>
                await InProcessAsync(s.Connections, calls, (load, context, i) =>
                    HttpLoad.ServerStreamAsync(load.Connection(i), new Uri(uri, serverStream), streamRequest, (long)frame.Length * messagesPerCall, context), ramp, duration, ct)
                / frame.Length),
            await ServerAsync("client-streamed messages/s", (uri, ramp, duration) =>
                InProcessAsync(s.Connections, calls, (load, context, i) =>
                    HttpLoad.ClientStreamAsync(load.Connection(i), new Uri(uri, clientStream), chunk, FramesPerChunk, messagesPerCall, context), ramp, duration, ct)),
            await ServerAsync("ping-pong round trips/s", (uri, ramp, duration) =>
                InProcessAsync(s.Connections, calls, (load, context, i) =>
                    HttpLoad.PingPongAsync(load.Connection(i), new Uri(uri, pingPong), frame, context), ramp, duration, ct)),
        };

        var unaryWorkers = s.Connections * s.Streams;
        var client = await CompareAsync(s, "client unary calls/s against the raw server",
        [
            ("h2load", (ramp, duration) => H2Load.RequestsPerSecondAsync(new Uri(servers.Raw, unary), dataFile, s.Connections, s.Streams, ramp, duration, ct)),
            ("raw SocketsHttpHandler", (ramp, duration) => InProcessAsync(s.Connections, unaryWorkers, (load, context, i) =>
                HttpLoad.UnaryAsync(load.Connection(i), new Uri(servers.Raw, unary), frame, context), ramp, duration, ct)),
            ("our GrpcChannel", async (ramp, duration) =>
            {
                using var channels = new GrpcChannelLoad(servers.Raw, s.Connections);
                return await LoadRun.MeasureAsync(unaryWorkers, (context, i) => channels.UnaryAsync(i, payload, context), ramp, duration, ct);
            }),
        ], baseline: 1, ct);
        return (server, client);
    }

    private static async Task<double> InProcessAsync(
        int connections, int workers, Func<HttpLoad, LoadContext, int, Task> worker, TimeSpan ramp, TimeSpan duration, CancellationToken ct)
    {
        using var load = new HttpLoad(connections);
        return await LoadRun.MeasureAsync(workers, (context, i) => worker(load, context, i), ramp, duration, ct);
    }

    /// <summary>A discarded warm-up run of each target, then rounds running the targets in turn.</summary>
    private static async Task<Comparison> CompareAsync(
        GrpcRuntimeSettings s, string metric, IReadOnlyList<(string Name, Run Run)> targets, int baseline, CancellationToken ct)
    {
        Console.WriteLine();
        Console.WriteLine(metric);
        foreach (var (_, run) in targets)
        {
            await run(s.Ramp, s.Warmup);
        }
        var values = targets.Select(_ => new List<double>()).ToArray();
        for (var round = 1; round <= s.Rounds; round++)
        {
            ct.ThrowIfCancellationRequested();
            for (var i = 0; i < targets.Count; i++)
            {
                values[i].Add(await targets[i].Run(s.Ramp, s.Duration));
            }
            Console.WriteLine($"  round {round}: " + string.Join(", ", targets.Select((t, i) =>
                string.Create(CultureInfo.InvariantCulture, $"{t.Name} {values[i][^1]:N0}"))) +
                string.Create(CultureInfo.InvariantCulture, $" (ratio {values[0][^1] / values[baseline][^1]:0.00})"));
        }
        return new Comparison(metric, targets.Select((t, i) => new Series(t.Name, values[i])).ToArray(), baseline);
    }
}
