using System.Diagnostics;
using System.Globalization;
using ControlPlane.Api.V1;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Reporting;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Benchmarks.Proxy;

/// <summary>
/// Issue 5: requests/s and latency through one dataplane node beside nginx as a reverse proxy to the
/// same backend, with the same load generators and connections, HTTP/1.1 keep-alive, in one run; the
/// node's allocations per proxied request; and the p99 each proxy adds at half of the node's peak.
/// </summary>
internal static class ProxyBenchmark
{
    public const string Image = "img.bench.proxy";
    public const string Prefix = "/g/" + Image;
    private const string Path = "/api/items?page=1";

    private static readonly Method<RegisterRequest, RegisterResponse> Register =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    public static async Task<int> RunAsync(ProxySettings settings, CancellationToken cancellationToken)
    {
#if DEBUG
        Console.Error.WriteLine("warning: a Debug build; benchmark with -c Release.");
#endif
        var load = ProcFs.LoadAverage();
        Console.WriteLine($"{settings.Command}{Environment.NewLine}{Environment.ProcessorCount} cores, load average {load}");
        if (!HttpLoadTools.AreInstalled || !NginxServer.IsInstalled)
        {
            Console.Error.WriteLine("The proxy benchmark needs wrk, hey and nginx: apt-get install wrk hey nginx.");
            return 1;
        }
        var clock = Stopwatch.StartNew();
        var nginxVersion = await NginxServer.VersionAsync(cancellationToken);
        var loadTools = await HttpLoadTools.VersionsAsync(cancellationToken);
        await using var nginx = await NginxServer.StartAsync(settings.BodyBytes, Prefix, cancellationToken);
        await using var controlPlane = await ControlPlaneServer.StartAsync(new Dictionary<string, string>(), cancellationToken);
        using (var channel = GrpcChannel.ForAddress(controlPlane.GrpcUrl))
        {
            await channel.AsyncUnaryCall(Register, new RegisterRequest
            {
                Name = "bench-backend",
                Image = Image,
                InstanceId = "bench-backend-1",
                Host = "127.0.0.1",
                Port = nginx.BackendPort,
                Region = "local",
                Metadata = new Struct { Fields = { ["weight"] = Value.ForNumber(1) } },
                TtlSeconds = 3600,
            }, new CallOptions(cancellationToken: cancellationToken));
        }
        await using var dataplane = await DataplaneServer.StartAsync(controlPlane.GrpcUrl, Prefix + Path, cancellationToken);
        Console.WriteLine($"{nginxVersion}: backend on port {nginx.BackendPort}, baseline proxy on port {nginx.ProxyPort}; dataplane pid {dataplane.ProcessId} on port {dataplane.Port}");

        var targets = new (string Name, Uri Url)[]
        {
            (ProxyReport.Dataplane, new Uri(dataplane.Url, Prefix + Path)),
            (ProxyReport.Nginx, new Uri($"http://127.0.0.1:{nginx.ProxyPort}{Prefix}{Path}")),
            (ProxyReport.Direct, new Uri($"http://127.0.0.1:{nginx.BackendPort}{Path}")),
        };
        foreach (var (name, url) in targets)
        {
            var warm = await HttpLoadTools.PeakAsync(url, settings.Threads, settings.Connections, settings.Warmup, cancellationToken);
            Console.WriteLine($"  warm-up {name}: {warm.RequestsPerSecond:N0} requests/s");
        }

        var peaks = targets.ToDictionary(t => t.Name, _ => new List<HttpLoadResult>());
        var allocated = new List<double>();
        for (var round = 1; round <= settings.Rounds; round++)
        {
            foreach (var (name, url) in targets)
            {
                var before = name == ProxyReport.Dataplane ? await dataplane.AllocatedBytesAsync(cancellationToken) : 0;
                var result = await HttpLoadTools.PeakAsync(url, settings.Threads, settings.Connections, settings.Duration, cancellationToken);
                if (name == ProxyReport.Dataplane)
                {
                    // The scrape itself allocates a little; it is counted against the requests, not subtracted.
                    allocated.Add((await dataplane.AllocatedBytesAsync(cancellationToken) - before) / result.Requests);
                }
                ThrowOnErrors(name, result);
                peaks[name].Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round} {name}: {result.RequestsPerSecond:N0} requests/s, p50 {Ms(result.P50)}, p99 {Ms(result.P99)}{(name == ProxyReport.Dataplane ? $", {allocated[^1]:N0} B allocated per request" : "")}"));
            }
        }

        // Half of the node's peak, the same rate for every target: the p99 each proxy adds to the backend's own.
        var rate = Median(peaks[ProxyReport.Dataplane].Select(r => r.RequestsPerSecond)) / 2;
        var atRate = targets.ToDictionary(t => t.Name, _ => new List<HttpLoadResult>());
        for (var round = 1; round <= settings.Rounds; round++)
        {
            foreach (var (name, url) in targets)
            {
                var result = await HttpLoadTools.AtRateAsync(url, settings.Connections, rate, settings.Duration, cancellationToken);
                ThrowOnErrors(name, result);
                atRate[name].Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  at {rate:N0}/s, round {round} {name}: {result.RequestsPerSecond:N0} requests/s, p50 {Ms(result.P50)}, p99 {Ms(result.P99)}"));
            }
        }

        var results = new ProxyResults(peaks, atRate, rate, allocated, nginxVersion, loadTools, load);
        var section = ProxyReport.Section(settings, DateTimeOffset.UtcNow, results);
        Console.WriteLine();
        Console.WriteLine(section);
        BenchmarksDocument.Publish(settings.OutputPath, ProxyReport.Heading, section);
        Console.WriteLine($"Took {clock.Elapsed.TotalSeconds:0} s.");
        return 0;
    }

    /// <summary>Every response must be a success: a proxy that answers errors fast is not faster.</summary>
    private static void ThrowOnErrors(string name, HttpLoadResult result)
    {
        if (result.Errors > 0)
        {
            throw new InvalidOperationException($"{name}: {result.Errors} of {result.Requests} requests failed (non-2xx or socket errors).");
        }
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture) + " ms";
}

/// <summary>Per target, every round's result; the rate of the latency runs; the node's allocations per request per round.</summary>
internal sealed record ProxyResults(
    IReadOnlyDictionary<string, List<HttpLoadResult>> Peaks,
    IReadOnlyDictionary<string, List<HttpLoadResult>> AtRate,
    double Rate,
    IReadOnlyList<double> AllocatedPerRequest,
    string NginxVersion,
    string LoadTools,
    string LoadAverage);
