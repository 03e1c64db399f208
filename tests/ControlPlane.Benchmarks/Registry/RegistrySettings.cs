using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>Settings of the <c>registry</c> benchmark, from its command line.</summary>
internal sealed record RegistrySettings : IRoundSettings
{
    public const string CommandName = "registry";

    public const string Usage = """
        usage: dotnet run -c Release --project tests/ControlPlane.Benchmarks -- registry [options]

          --duration <s>      measured seconds per run (default 2)
          --rounds <n>        alternating runs of each target per metric (default 3)
          --connections <n>   HTTP/2 connections (one GrpcChannel each) of the load generator (default 2)
          --calls <n>         concurrent unary Register calls per connection (default 32)
          --instances <n>     instances registered before the heartbeat runs, and for the memory
                              measurement (default 100000)
          --streams <n>       concurrent HeartbeatStream calls, spread over the connections (default 8)
          --in-flight <n>     beats sent ahead of their answers on each stream (default 4)
          --only <parts>      comma-separated subset, for profiling (registrations, heartbeats,
                              memory); nothing is written
          --output <path>     the markdown file whose section is replaced (default docs/benchmarks.md)
          --no-write          print the results only
        """;

    public const string Registrations = "registrations";
    public const string Heartbeats = "heartbeats";
    public const string Memory = "memory";

    public static readonly string[] Parts = [Registrations, Heartbeats, Memory];

    /// <summary>The aims on this machine, with the load generator beside the server.</summary>
    public const double RegistrationsAim = 50_000;

    public const double HeartbeatsAim = 200_000;

    public const double BytesPerInstanceAim = 2048;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan Ramp { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan WarmupSlice { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Fewer than grpc-runtime's 10: three targets per metric, and the run should stay within 3 minutes.</summary>
    public int MaxWarmupSlices { get; init; } = 8;

    public int Rounds { get; init; } = 3;

    public int Connections { get; init; } = 2;

    public int CallsPerConnection { get; init; } = 32;

    public int Instances { get; init; } = 100_000;

    public int Streams { get; init; } = 8;

    public int InFlight { get; init; } = 4;

    /// <summary>Heartbeat rounds after which the memory per instance is taken again: enough for the store to compact its deadline heap once.</summary>
    public int HeartbeatRoundsForMemory { get; init; } = 5;

    /// <summary>Null: every part.</summary>
    public IReadOnlySet<string>? Only { get; init; }

    public bool Includes(string part) => Only is null || Only.Contains(part);

    /// <summary>Null: print only.</summary>
    public string? OutputPath { get; init; } = BenchmarksDocument.DefaultPath();

    /// <summary>The command line that produced the results, as written into the report.</summary>
    public string Command { get; init; } = BenchmarksDocument.Command(CommandName, []);

    public static RegistrySettings Parse(ReadOnlySpan<string> args)
    {
        var settings = new RegistrySettings { Command = BenchmarksDocument.Command(CommandName, args) };
        settings = CommandLine.Apply(
            args,
            settings,
            static (s, name) => name == "--no-write" ? s with { OutputPath = null } : null,
            static (s, name, value) => name switch
            {
                "--duration" => s with { Duration = TimeSpan.FromSeconds(CommandLine.Number(name, value, 0.5, 600)) },
                "--rounds" => s with { Rounds = (int)CommandLine.Number(name, value, 1, 100) },
                "--connections" => s with { Connections = (int)CommandLine.Number(name, value, 1, 64) },
                "--calls" => s with { CallsPerConnection = (int)CommandLine.Number(name, value, 1, 100) },
                "--instances" => s with { Instances = (int)CommandLine.Number(name, value, 1000, 2_000_000) },
                "--streams" => s with { Streams = (int)CommandLine.Number(name, value, 1, 256) },
                "--in-flight" => s with { InFlight = (int)CommandLine.Number(name, value, 1, 64) },
                "--only" => s with { Only = CommandLine.Subset(name, value, Parts) },
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
