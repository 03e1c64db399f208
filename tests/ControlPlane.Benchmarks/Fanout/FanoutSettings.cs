using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>Settings of the <c>fanout</c> benchmark, from its command line.</summary>
internal sealed record FanoutSettings
{
    public const string CommandName = "fanout";

    public const string Usage = """
        usage: dotnet run -c Release --project tests/ControlPlane.Benchmarks -- fanout [options]

          --watchers <n,...>  watcher counts, each measured on fresh servers (default 1000,10000)
          --rounds <n>        measured changes per target and count, alternating targets (default 5)
          --warmup-changes <n>  unmeasured changes per target before them (default 2)
          --connections <n>   HTTP/2 connections the watch streams are spread over (default 10)
          --delta-images <n>  images (one instance each) for the delta push cost, measured after the
                              counts on a control plane of its own; 0 skips it (default 10000)
          --delta-nodes <n>   wildcard nodes holding them all for the delta push cost (default 100)
          --etcd-only         measure etcd's watch fan-out alone and print it; nothing is written
          --output <path>     the markdown file whose section is replaced (default docs/benchmarks.md)
          --no-write          print the results only
        """;

    /// <summary>The aims on this machine (p99 at 10,000 nodes, bytes per idle stream).</summary>
    public static readonly TimeSpan P99Aim = TimeSpan.FromMilliseconds(250);

    public const int AimWatchers = 10_000;

    public const double BytesPerIdleWatcherAim = 20 * 1024;

    public IReadOnlyList<int> Watchers { get; init; } = [1_000, 10_000];

    public int Rounds { get; init; } = 5;

    public int Connections { get; init; } = 10;

    public bool EtcdOnly { get; init; }

    /// <summary>Images of one instance each in the delta push cost measurement; 0 skips it.</summary>
    public int DeltaImages { get; init; } = 10_000;

    /// <summary>Wildcard nodes holding every image in the delta push cost measurement.</summary>
    public int DeltaNodes { get; init; } = 100;

    /// <summary>Null: print only.</summary>
    public string? OutputPath { get; init; } = BenchmarksDocument.DefaultPath();

    /// <summary>Unmeasured changes per target before the rounds (the first ones run code this process has not compiled yet).</summary>
    public int WarmupChanges { get; init; } = 2;

    /// <summary>The longest one change may take to reach every watcher.</summary>
    public TimeSpan ChangeTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest opening every watch stream may take.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Watch streams being opened at once while starting (each waits for its first response).</summary>
    public int OpeningConcurrency { get; init; } = 256;

    /// <summary>Quiet time before taking memory with idle watchers, and between changes.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan Pause { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The command line that produced the results, as written into the report.</summary>
    public string Command { get; init; } = BenchmarksDocument.Command(CommandName, []);

    /// <summary>"1 HTTP/2 connection", "10 HTTP/2 connections".</summary>
    public static string ConnectionsText(int connections) => connections == 1 ? "1 HTTP/2 connection" : $"{connections} HTTP/2 connections";

    public static FanoutSettings Parse(ReadOnlySpan<string> args)
    {
        var settings = new FanoutSettings { Command = BenchmarksDocument.Command(CommandName, args) };
        settings = CommandLine.Apply(
            args,
            settings,
            static (s, name) => name == "--no-write" ? s with { OutputPath = null } : name == "--etcd-only" ? s with { EtcdOnly = true } : null,
            static (s, name, value) => name switch
            {
                "--watchers" => s with { Watchers = Counts(name, value) },
                "--rounds" => s with { Rounds = (int)CommandLine.Number(name, value, 1, 100) },
                "--warmup-changes" => s with { WarmupChanges = (int)CommandLine.Number(name, value, 0, 100) },
                "--connections" => s with { Connections = (int)CommandLine.Number(name, value, 1, 1000) },
                "--delta-images" => s with { DeltaImages = (int)CommandLine.Number(name, value, 0, 40_000) },
                "--delta-nodes" => s with { DeltaNodes = (int)CommandLine.Number(name, value, 1, 10_000) },
                "--output" => s with { OutputPath = Path.GetFullPath(value) },
                _ => throw new ArgumentException($"Unknown option '{name}'."),
            });
        return settings;
    }

    private static int[] Counts(string name, string value)
    {
        var counts = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(v => (int)CommandLine.Number(name, v, 1, 100_000))
            .ToArray();
        return counts.Length > 0 ? counts : throw new ArgumentException($"Option '{name}' takes comma-separated watcher counts, not '{value}'.");
    }
}
