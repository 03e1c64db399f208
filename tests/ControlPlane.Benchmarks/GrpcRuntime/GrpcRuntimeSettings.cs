using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>Settings of the <c>grpc-runtime</c> benchmark, from its command line.</summary>
internal sealed record GrpcRuntimeSettings : IRoundSettings
{
    public const string CommandName = "grpc-runtime";

    public const string Usage = """
        usage: dotnet run -c Release --project tests/ControlPlane.Benchmarks -- grpc-runtime [options]

          --duration <s>         measured seconds per run (default 2)
          --rounds <n>           alternating runs of each target per metric (default 3)
          --connections <n>      HTTP/2 connections of the load generators (default 2)
          --streams <n>          concurrent unary calls per connection (default 32)
          --streaming-calls <n>  concurrent streaming calls per connection (default 2)
          --payload <bytes>      payload of every message (default 100)
          --only <metrics>       comma-separated subset, for profiling (unary, server-stream,
                                 client-stream, ping-pong, client); nothing is written
          --output <path>        the markdown file whose section is replaced (default docs/benchmarks.md)
          --no-write             print the results only
        """;

    /// <summary>Measured time of one run of one target.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Load before each measured window (connections, flow-control windows).</summary>
    public TimeSpan Ramp { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// One warm-up slice. Before its rounds, each target runs slices until the rate is steady:
    /// tiered compilation with PGO takes several seconds under load to reach its final code, and
    /// a run before that measures the JIT, not the server.
    /// </summary>
    public TimeSpan WarmupSlice { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The most warm-up slices per target, steady or not.</summary>
    public int MaxWarmupSlices { get; init; } = 10;

    public int Rounds { get; init; } = 3;

    public int Connections { get; init; } = 2;

    public int Streams { get; init; } = 32;

    public int StreamingCalls { get; init; } = 2;

    public int PayloadSize { get; init; } = 100;

    /// <summary>Messages per server- or client-streaming call (then the next call starts).</summary>
    public int MessagesPerCall { get; init; } = 10_000;

    public const string ClientMetric = "client";

    public static readonly string[] Metrics = ["unary", "server-stream", "client-stream", "ping-pong", ClientMetric];

    /// <summary>Null: every metric.</summary>
    public IReadOnlySet<string>? Only { get; init; }

    public bool Includes(string metric) => Only is null || Only.Contains(metric);

    /// <summary>Null: print only.</summary>
    public string? OutputPath { get; init; } = BenchmarksDocument.DefaultPath();

    /// <summary>The command line that produced the results, as written into the report.</summary>
    public string Command { get; init; } = BenchmarksDocument.Command(CommandName, []);

    public static GrpcRuntimeSettings Parse(ReadOnlySpan<string> args)
    {
        var settings = new GrpcRuntimeSettings
        {
            Command = BenchmarksDocument.Command(CommandName, args),
        };
        settings = CommandLine.Apply(
            args,
            settings,
            static (s, name) => name == "--no-write" ? s with { OutputPath = null } : null,
            static (s, name, value) => name switch
            {
                "--duration" => s with { Duration = TimeSpan.FromSeconds(CommandLine.Number(name, value, 0.5, 600)) },
                "--rounds" => s with { Rounds = (int)CommandLine.Number(name, value, 1, 100) },
                "--connections" => s with { Connections = (int)CommandLine.Number(name, value, 1, 64) },
                "--streams" => s with { Streams = (int)CommandLine.Number(name, value, 1, 100) },
                "--streaming-calls" => s with { StreamingCalls = (int)CommandLine.Number(name, value, 1, 100) },
                "--payload" => s with { PayloadSize = (int)CommandLine.Number(name, value, 0, 1024 * 1024) },
                "--only" => s with { Only = CommandLine.Subset(name, value, Metrics) },
                "--output" => s with { OutputPath = Path.GetFullPath(value) },
                _ => throw new ArgumentException($"Unknown option '{name}'."),
            });
        return settings;
    }
}
