using System.Diagnostics;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Reporting;
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
            var (server, client) = await MeasureAllAsync(settings, servers, dataFile, cancellationToken);
            var section = BenchmarkReport.Section(settings, h2load, DateTimeOffset.UtcNow, server, client);
            Console.WriteLine();
            Console.WriteLine(section);
            if (settings.Only is not null)
            {
                Console.WriteLine("Not writing the report: --only ran part of the benchmark.");
            }
            else
            {
                BenchmarksDocument.Publish(settings.OutputPath, BenchmarkReport.Heading, section);
            }
            Console.WriteLine($"Took {clock.Elapsed.TotalSeconds:0} s.");
            return 0;
        }
        finally
        {
            File.Delete(dataFile);
        }
    }

    private static async Task<(IReadOnlyList<Comparison> Server, Comparison? Client)> MeasureAllAsync(
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
        var serverMetrics = new (string Key, string Metric, Func<Uri, TimeSpan, TimeSpan, Task<Sample>> Measure)[]
        {
            // h2load runs in its own process, so this process's CPU time and allocations are the servers' alone.
            ("unary", "unary calls/s", (uri, _, duration) => WithServerCostAsync(() =>
                H2Load.RunAsync(new Uri(uri, unary), dataFile, s.Connections, s.Streams, TimeSpan.Zero, duration, ct))),
            ("server-stream", "server-streamed messages/s", async (uri, ramp, duration) =>
                new Sample(await InProcessAsync(s.Connections, calls, (load, context, i) =>
                    HttpLoad.ServerStreamAsync(load.Connection(i), new Uri(uri, serverStream), streamRequest, (long)frame.Length * messagesPerCall, context), ramp, duration, ct)
                / frame.Length)),
            ("client-stream", "client-streamed messages/s", async (uri, ramp, duration) =>
                new Sample(await InProcessAsync(s.Connections, calls, (load, context, i) =>
                    HttpLoad.ClientStreamAsync(load.Connection(i), new Uri(uri, clientStream), chunk, FramesPerChunk, messagesPerCall, context), ramp, duration, ct))),
            ("ping-pong", "ping-pong round trips/s", async (uri, ramp, duration) =>
                new Sample(await InProcessAsync(s.Connections, calls, (load, context, i) =>
                    HttpLoad.PingPongAsync(load.Connection(i), new Uri(uri, pingPong), frame, context), ramp, duration, ct))),
        };
        var server = new List<Comparison>();
        foreach (var (key, metric, measure) in serverMetrics.Where(m => s.Includes(m.Key)))
        {
            server.Add(await AlternatingRounds.CompareAsync(s, metric,
                [("ours", (ramp, duration) => measure(servers.Ours, ramp, duration)), ("raw", (ramp, duration) => measure(servers.Raw, ramp, duration))],
                baseline: 1, ct));
        }
        if (!s.Includes(GrpcRuntimeSettings.ClientMetric))
        {
            return (server, null);
        }

        var unaryWorkers = s.Connections * s.Streams;
        var client = await AlternatingRounds.CompareAsync(s, "client unary calls/s against the raw server",
        [
            ("h2load", async (ramp, duration) =>
                new Sample((await H2Load.RunAsync(new Uri(servers.Raw, unary), dataFile, s.Connections, s.Streams, ramp, duration, ct)).RequestsPerSecond)),
            ("raw SocketsHttpHandler", async (ramp, duration) => new Sample(await InProcessAsync(s.Connections, unaryWorkers, (load, context, i) =>
                HttpLoad.UnaryAsync(load.Connection(i), new Uri(servers.Raw, unary), frame, context), ramp, duration, ct))),
            ("our GrpcChannel", async (ramp, duration) =>
            {
                using var channels = new GrpcChannelLoad(servers.Raw, s.Connections);
                return new Sample(await LoadRun.MeasureAsync(unaryWorkers, (context, i) => channels.UnaryAsync(i, payload, context), ramp, duration, ct));
            }),
        ], baseline: 1, ct);
        return (server, client);
    }

    /// <summary>Runs h2load and charges this process's CPU time and allocations to the calls it made.</summary>
    private static async Task<Sample> WithServerCostAsync(Func<Task<H2Load.Result>> run)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes();
        var result = await run();
        process.Refresh();
        var calls = Math.Max(1, result.Requests);
        return new Sample(
            result.RequestsPerSecond,
            (process.TotalProcessorTime - cpu).TotalMicroseconds / calls,
            (GC.GetTotalAllocatedBytes() - allocated) / (double)calls);
    }

    private static async Task<double> InProcessAsync(
        int connections, int workers, Func<HttpLoad, LoadContext, int, Task> worker, TimeSpan ramp, TimeSpan duration, CancellationToken ct)
    {
        using var load = new HttpLoad(connections);
        return await LoadRun.MeasureAsync(workers, (context, i) => worker(load, context, i), ramp, duration, ct);
    }
}
