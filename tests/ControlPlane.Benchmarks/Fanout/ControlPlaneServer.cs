using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using ControlPlane.Benchmarks.Processes;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// The control plane in a process of its own, as etcd is: the ControlPlane.Server.dll this benchmark
/// was built with (copied beside it by the project reference), run by the same dotnet host on free
/// loopback ports, its embedded store, logging at Warning, and no dataplane token (discovery streams
/// open to any caller). Ready when /readyz answers "ok". Killed on dispose, on Ctrl-C (through the
/// benchmark's cancellation) and at process exit.
/// </summary>
internal sealed class ControlPlaneServer : IAsyncDisposable
{
    public const string AssemblyName = "ControlPlane.Server.dll";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly LogTail _log = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly EventHandler _onExit;
    private int _disposed;

    private ControlPlaneServer(Process process, int grpcPort, int httpPort)
    {
        _process = process;
        GrpcPort = grpcPort;
        GrpcUrl = new Uri($"http://127.0.0.1:{grpcPort}");
        HttpUrl = new Uri($"http://127.0.0.1:{httpPort}");
        _onExit = (_, _) => Stop();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    /// <summary>The h2c address of its gRPC services.</summary>
    public Uri GrpcUrl { get; }

    public int GrpcPort { get; }

    /// <summary>REST and ops (/readyz, /metrics, /version), HTTP/1.1.</summary>
    public Uri HttpUrl { get; }

    public int ProcessId => _process.Id;

    /// <summary>The server's assembly: beside this benchmark's own, from the same build.</summary>
    public static string AssemblyPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, AssemblyName);
            if (!File.Exists(path) || !File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
            {
                throw new InvalidOperationException($"{path} (with its runtimeconfig.json) is missing: build tests/ControlPlane.Benchmarks, which references ControlPlane.Server.");
            }
            return path;
        }
    }

    /// <summary>
    /// Starts the server with <paramref name="settings"/> as extra configuration (name → value, as
    /// command-line options) and waits until it is ready.
    /// </summary>
    public static Task<ControlPlaneServer> StartAsync(IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken) =>
        StartAsync(AssemblyPath, [], settings, cancellationToken);

    /// <summary>
    /// <see cref="BareKestrelFanoutServer"/> in place of the control plane: this benchmark's own assembly,
    /// started the same way, with the same options.
    /// </summary>
    public static Task<ControlPlaneServer> StartBareKestrelAsync(IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken) =>
        StartAsync(typeof(BareKestrelFanoutServer).Assembly.Location, [BareKestrelFanoutServer.CommandName], settings, cancellationToken);

    private static async Task<ControlPlaneServer> StartAsync(string assembly, string[] command, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        int grpcPort = EtcdServer.FreePort(), httpPort = EtcdServer.FreePort();
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Its appsettings.json is beside it; command-line options below override it.
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        foreach (var word in command)
        {
            start.ArgumentList.Add(word);
        }
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ControlPlane:GrpcPort"] = grpcPort.ToString(CultureInfo.InvariantCulture),
            ["ControlPlane:HttpPort"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["ControlPlane:BindAddress"] = "127.0.0.1",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        };
        foreach (var (name, value) in settings)
        {
            options[name] = value;
        }
        foreach (var (name, value) in options)
        {
            start.ArgumentList.Add($"--{name}={value}");
        }
        // Settings and credentials from the caller's environment would change what is measured:
        // a dataplane token would refuse the benchmark's nodes; GC knobs meant for this process would
        // override the server's own runtimeconfig.
        static bool Inherited(string name) =>
            name.StartsWith("ControlPlane__", StringComparison.OrdinalIgnoreCase) || name.StartsWith("DATAPLANE_TOKEN", StringComparison.Ordinal)
            || name.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || name.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("DOTNET_GC", StringComparison.OrdinalIgnoreCase) || name.StartsWith("COMPlus_GC", StringComparison.OrdinalIgnoreCase);
        foreach (var name in start.Environment.Keys.Where(Inherited).ToArray())
        {
            start.Environment.Remove(name);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the control plane.");
        var server = new ControlPlaneServer(process, grpcPort, httpPort);
        process.OutputDataReceived += (_, e) => server._log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server._log.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitReadyAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The dotnet host running this process (…/dotnet beside shared/Microsoft.NETCore.App/&lt;version&gt;/), else the one on PATH.</summary>
    internal static string DotnetHost()
    {
        var runtime = RuntimeEnvironment.GetRuntimeDirectory();
        var host = Path.GetFullPath(Path.Combine(runtime, "..", "..", "..", OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet"));
        return File.Exists(host) ? host : "dotnet";
    }

    /// <summary>"0.1.0, commit abc1234" from its /version.</summary>
    public async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        using var json = JsonDocument.Parse(await _http.GetStringAsync(new Uri(HttpUrl, "/version"), cancellationToken));
        var version = json.RootElement.GetProperty("version").GetString();
        var sha = json.RootElement.GetProperty("git_sha").GetString();
        return sha is null or "unknown" ? $"{version}" : $"{version}, commit {sha[..Math.Min(7, sha.Length)]}";
    }

    /// <summary>Its resident set size (VmRSS), in bytes.</summary>
    public long ResidentBytes() => ProcFs.ResidentBytes(_process.Id);

    /// <summary>
    /// The managed heap right after a full, blocking garbage collection made for this reading
    /// (<see cref="CollectGarbageAsync"/>), all generations (/metrics dotnet_gc_last_collection_heap_size_bytes):
    /// what the server's objects hold, without garbage.
    /// </summary>
    public async Task<long> ManagedHeapAfterFullGcAsync(CancellationToken cancellationToken)
    {
        await CollectGarbageAsync(cancellationToken);
        return (long)(await MetricAsync("dotnet_gc_last_collection_heap_size_bytes", cancellationToken)
            ?? throw new InvalidOperationException("The control plane's /metrics has no dotnet_gc_last_collection_heap_size_bytes."));
    }

    /// <summary>
    /// Makes the server run a full, blocking garbage collection (through its diagnostics port, as
    /// dotnet-gcdump does) and waits until its /metrics counts one more gen2 collection.
    /// </summary>
    public async Task CollectGarbageAsync(CancellationToken cancellationToken)
    {
        const string Gen2 = "gc_heap_generation=\"gen2\"";
        var before = await MetricAsync("dotnet_gc_collections_total", cancellationToken, Gen2) ?? 0;
        await DiagnosticsPort.RequestFullCollectionAsync(ProcessId, async () =>
        {
            var clock = Stopwatch.StartNew();
            while ((await MetricAsync("dotnet_gc_collections_total", cancellationToken, Gen2) ?? 0) <= before)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new TimeoutException("The control plane did not run the full garbage collection asked for through its diagnostics port within 30 s.");
                }
                await Task.Delay(20, cancellationToken);
            }
        }, cancellationToken);
    }

    /// <summary>Sum of every series of metric <paramref name="name"/> whose labels contain <paramref name="labels"/>; null when there is none.</summary>
    public async Task<double?> MetricAsync(string name, CancellationToken cancellationToken, string? labels = null)
    {
        var text = await _http.GetStringAsync(new Uri(HttpUrl, "/metrics"), cancellationToken);
        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || line[name.Length] is not (' ' or '{'))
            {
                continue;
            }
            if (labels is not null && !line.Contains(labels, StringComparison.Ordinal))
            {
                continue;
            }
            var value = line[(line.LastIndexOf(' ') + 1)..];
            sum = (sum ?? 0) + double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return sum;
    }

    /// <summary>
    /// A Prometheus histogram's cumulative buckets (upper bound → count) summed over its series whose
    /// labels contain <paramref name="labels"/>, in increasing order of bound.
    /// </summary>
    public async Task<IReadOnlyList<(double Le, double Count)>> HistogramAsync(string name, string? labels, CancellationToken cancellationToken)
    {
        var text = await _http.GetStringAsync(new Uri(HttpUrl, "/metrics"), cancellationToken);
        var buckets = new SortedDictionary<double, double>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "_bucket{", StringComparison.Ordinal) || (labels is not null && !line.Contains(labels, StringComparison.Ordinal)))
            {
                continue;
            }
            var le = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
            var bound = line[le..line.IndexOf('"', le)];
            var key = bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, NumberStyles.Float, CultureInfo.InvariantCulture);
            buckets[key] = buckets.GetValueOrDefault(key) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return buckets.Select(b => (b.Key, b.Value)).ToArray();
    }

    /// <summary>"p50 ≤ 0.1 s, p99 ≤ 0.25 s of 70,000": the bucket bounds that hold the quantiles of a histogram from <see cref="HistogramAsync"/>.</summary>
    public static string Quantiles(IReadOnlyList<(double Le, double Count)> buckets)
    {
        if (buckets.Count == 0 || buckets[^1].Count == 0)
        {
            return "no samples";
        }
        var total = buckets[^1].Count;
        string At(double q) => buckets.First(b => b.Count >= q * total).Le is var le && double.IsPositiveInfinity(le) ? "> the last bound" : string.Create(CultureInfo.InvariantCulture, $"<= {le * 1000:0} ms");
        return string.Create(CultureInfo.InvariantCulture, $"p50 {At(0.5)}, p99 {At(0.99)} of {total:N0}");
    }

    /// <summary>Waits until metric <paramref name="name"/> (series matching <paramref name="labels"/>) reaches <paramref name="value"/>.</summary>
    public async Task WaitForMetricAsync(string name, string? labels, double value, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        double? last;
        while ((last = await MetricAsync(name, cancellationToken, labels)) != value)
        {
            ThrowIfExited();
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The control plane's {name}{labels} is {last?.ToString(CultureInfo.InvariantCulture) ?? "absent"} after {timeout.TotalSeconds:0} s, not {value}.");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Throws, with its last log lines, if it has exited.</summary>
    public void ThrowIfExited()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"The control plane exited with code {_process.ExitCode}:{Environment.NewLine}{RecentLog()}");
        }
    }

    public string RecentLog() => _log.ToString();

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            ThrowIfExited();
            try
            {
                using var response = await _http.GetAsync(new Uri(HttpUrl, "/readyz"), cancellationToken);
                if (response.IsSuccessStatusCode && await response.Content.ReadAsStringAsync(cancellationToken) == "ok")
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"The control plane was not ready within {StartTimeout.TotalSeconds:0} s:{Environment.NewLine}{RecentLog()}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Kills the server (its store is in memory; nothing is kept); safe to call more than once.</summary>
    private void Stop()
    {
        ChildProcess.Kill(_process);
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit -= _onExit;
            Stop();
            _process.Dispose();
            _http.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
