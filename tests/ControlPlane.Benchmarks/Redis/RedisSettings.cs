using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Registry;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Redis;

/// <summary>Settings of the <c>redis</c> benchmark, from its command line.</summary>
internal sealed record RedisSettings : IRoundSettings
{
    public const string CommandName = "redis";

    public const string Usage = """
        usage: dotnet run -c Release --project tests/ControlPlane.Benchmarks -- redis [options]

          --duration <s>      measured seconds per run (default 2)
          --rounds <n>        alternating runs of each target per metric (default 3)
          --warmup <n>        most one-second warm-up slices per target (default 8)
          --connections <n>   HTTP/2 connections of the load generator, spread over the replicas (default 2)
          --calls <n>         concurrent unary Register calls per connection (default 32)
          --instances <n>     instances registered in each store before the heartbeat runs (default 20000)
          --streams <n>       concurrent HeartbeatStream calls, spread over the connections (default 8)
          --in-flight <n>     beats sent ahead of their answers on each stream (default 4)
          --changes <n>       changes timed from replica A to watchers on A and on B (default 200)
          --requests <n>      requests of each redis-benchmark line (default 200000)
          --output <path>     the markdown file whose section is replaced (default docs/benchmarks.md)
          --no-write          print the results only
        """;

    /// <summary>The aims: a replica on Redis keeps at least this share of the embedded store's rates.</summary>
    public const double ShareOfEmbeddedAim = 0.5;

    /// <summary>The aim for a change made on one replica to reach a node watching another, p99.</summary>
    public static readonly TimeSpan CrossReplicaP99Aim = TimeSpan.FromMilliseconds(100);

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan Ramp { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan WarmupSlice { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// As the registry benchmark's 8: a fresh server's registrations reach their steady rate after 6-8 s
    /// of load (tiered compilation), and a target still ramping up when the cap ends its warm-up is
    /// measured partly warm (each target stops at three agreeing slices, so the cap binds only then).
    /// </summary>
    public int MaxWarmupSlices { get; init; } = 8;

    public int Rounds { get; init; } = 3;

    public int Connections { get; init; } = 2;

    public int CallsPerConnection { get; init; } = 32;

    public int Instances { get; init; } = 20_000;

    public int Streams { get; init; } = 8;

    public int InFlight { get; init; } = 4;

    public int Changes { get; init; } = 200;

    /// <summary>Unmeasured changes before the timed ones (the first run code the processes have not compiled yet).</summary>
    public int WarmupChanges { get; init; } = 10;

    /// <summary>
    /// Quiet time before each change: longer than the discovery debounce window (100 ms), so that each
    /// change is the first after a quiet window and pushed at once, as a lone change is.
    /// </summary>
    public TimeSpan PauseBetweenChanges { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>The longest one change may take to reach both watchers.</summary>
    public TimeSpan ChangeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public int RedisBenchmarkRequests { get; init; } = 200_000;

    /// <summary>Null: print only.</summary>
    public string? OutputPath { get; init; } = BenchmarksDocument.DefaultPath();

    /// <summary>The command line that produced the results, as written into the report.</summary>
    public string Command { get; init; } = BenchmarksDocument.Command(CommandName, []);

    public static RedisSettings Parse(ReadOnlySpan<string> args)
    {
        var settings = new RedisSettings { Command = BenchmarksDocument.Command(CommandName, args) };
        settings = CommandLine.Apply(
            args,
            settings,
            static (s, name) => name == "--no-write" ? s with { OutputPath = null } : null,
            static (s, name, value) => name switch
            {
                "--duration" => s with { Duration = TimeSpan.FromSeconds(CommandLine.Number(name, value, 0.5, 600)) },
                "--rounds" => s with { Rounds = (int)CommandLine.Number(name, value, 1, 100) },
                "--warmup" => s with { MaxWarmupSlices = (int)CommandLine.Number(name, value, 1, 100) },
                "--connections" => s with { Connections = (int)CommandLine.Number(name, value, 1, 64) },
                "--calls" => s with { CallsPerConnection = (int)CommandLine.Number(name, value, 1, 100) },
                "--instances" => s with { Instances = (int)CommandLine.Number(name, value, 1000, 2_000_000) },
                "--streams" => s with { Streams = (int)CommandLine.Number(name, value, 1, 256) },
                "--in-flight" => s with { InFlight = (int)CommandLine.Number(name, value, 1, 64) },
                "--changes" => s with { Changes = (int)CommandLine.Number(name, value, 10, 100_000) },
                "--requests" => s with { RedisBenchmarkRequests = (int)CommandLine.Number(name, value, 1000, 100_000_000) },
                "--output" => s with { OutputPath = Path.GetFullPath(value) },
                _ => throw new ArgumentException($"Unknown option '{name}'."),
            });
        if (settings.Instances < settings.Streams * Fleet.BeatSize)
        {
            throw new ArgumentException($"--instances must be at least --streams × {Fleet.BeatSize} ({settings.Streams * Fleet.BeatSize}), so that every stream renews {Fleet.BeatSize} distinct instances per beat.");
        }
        return settings;
    }
}
