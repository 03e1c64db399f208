using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ControlPlane.Benchmarks.Processes;

namespace ControlPlane.Benchmarks.Redis;

/// <summary>
/// redis-benchmark (Debian's redis-tools) against the replicas' server, in the same run: what the
/// store itself answers on this machine. Each line is one invocation with <c>-q</c>; its rate is read
/// from the last "N requests per second" it prints.
/// </summary>
internal static partial class RedisBenchmarkTool
{
    public const string Executable = "/usr/bin/redis-benchmark";

    /// <summary>
    /// A small Lua script writing one key: one script call per operation, as one registration is one
    /// call of register.lua (which does more inside it: the ceiling of the call, not of the script).
    /// </summary>
    private const string Script = "redis.call('SET', KEYS[1], ARGV[1]) return 1";

    /// <summary>One line of the report: what was run and the rate it got.</summary>
    public sealed record Line(string Name, string Arguments, double RequestsPerSecond);

    /// <summary>The lines the report shows, in order; each against <paramref name="port"/>, <paramref name="requests"/> requests.</summary>
    public static async Task<IReadOnlyList<Line>> RunAsync(int port, int requests, CancellationToken cancellationToken)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: apt-get install redis-tools (it comes with redis-server).");
        }
        var n = requests.ToString(CultureInfo.InvariantCulture);
        (string Name, string[] Arguments)[] lines =
        [
            ("SET, 50 clients, one command per round trip", ["-t", "set", "-c", "50", "-n", n, "-r", "100000"]),
            ("EVAL of a one-key script, 50 clients, one call per round trip", ["-c", "50", "-n", n, "-r", "100000", "EVAL", Script, "1", "key:__rand_int__", "v"]),
            ("EVAL of a one-key script, 2 clients pipelining 32 calls each", ["-c", "2", "-P", "32", "-n", n, "-r", "100000", "EVAL", Script, "1", "key:__rand_int__", "v"]),
        ];
        var results = new List<Line>();
        foreach (var (name, arguments) in lines)
        {
            string[] all = ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-q", .. arguments];
            var rate = await RunOneAsync(all, cancellationToken);
            var shown = string.Join(' ', arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  redis-benchmark {shown}: {rate:N0} requests/s"));
            results.Add(new Line(name, shown, rate));
        }
        return results;
    }

    private static async Task<double> RunOneAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-benchmark.");
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            var text = await output;
            var matches = RatePattern().Matches(text);
            if (process.ExitCode != 0 || matches.Count == 0)
            {
                throw new InvalidOperationException($"redis-benchmark {string.Join(' ', arguments)} exited with code {process.ExitCode}: {await errors}{text[^Math.Min(text.Length, 500)..]}");
            }
            return double.Parse(matches[^1].Groups["rate"].Value, CultureInfo.InvariantCulture);
        }
        finally
        {
            ChildProcess.Kill(process);
        }
    }

    // SET: 45454.55 requests per second, p50=0.335 msec
    [GeneratedRegex(@"(?<rate>[0-9]+(\.[0-9]+)?) requests per second")]
    private static partial Regex RatePattern();
}
