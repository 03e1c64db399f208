using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Proxy;

/// <summary>Options of the proxy benchmark (issue 5): the dataplane node beside nginx as reverse proxies to one backend.</summary>
internal sealed record ProxySettings
{
    public const string CommandName = "proxy";

    public const string Usage = """
        usage: dotnet run -c Release --project tests/ControlPlane.Benchmarks -- proxy [options]

          --duration <s>      measured seconds per run (default 5)
          --rounds <n>        alternating runs of each proxy (default 3)
          --connections <n>   HTTP/1.1 keep-alive connections of the load generators (default 64)
          --output <path>     the markdown file whose section is replaced (default docs/benchmarks.md)
          --no-write          print the results only
        """;

    /// <summary>The aims: throughput at least nginx's, added p99 at half of peak under 1 ms, under 5 KB allocated per request.</summary>
    public const double ThroughputRatioAim = 1.0;

    public static readonly TimeSpan AddedP99Aim = TimeSpan.FromMilliseconds(1);

    public const double BytesPerRequestAim = 5 * 1024;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    public int Rounds { get; init; } = 3;

    public int Connections { get; init; } = 64;

    /// <summary>wrk threads: one per core, as wrk's own advice goes.</summary>
    public int Threads { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Bytes of the backend's response body.</summary>
    public int BodyBytes { get; init; } = 256;

    /// <summary>Unmeasured seconds of load on each target first (JIT, connection pools).</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Null: print only.</summary>
    public string? OutputPath { get; init; } = BenchmarksDocument.DefaultPath();

    public string Command { get; init; } = BenchmarksDocument.Command(CommandName, []);

    public static ProxySettings Parse(ReadOnlySpan<string> args)
    {
        var settings = new ProxySettings { Command = BenchmarksDocument.Command(CommandName, args) };
        settings = CommandLine.Apply(
            args,
            settings,
            static (s, name) => name == "--no-write" ? s with { OutputPath = null } : null,
            static (s, name, value) => name switch
            {
                "--duration" => s with { Duration = TimeSpan.FromSeconds(CommandLine.Number(name, value, 1, 600)) },
                "--rounds" => s with { Rounds = (int)CommandLine.Number(name, value, 1, 100) },
                "--connections" => s with { Connections = (int)CommandLine.Number(name, value, 1, 10_000) },
                "--output" => s with { OutputPath = Path.GetFullPath(value) },
                _ => throw new ArgumentException($"Unknown option '{name}'."),
            });
        return settings;
    }
}
