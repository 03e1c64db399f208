using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ControlPlane.Benchmarks.Proxy;

/// <summary>What one load run saw: rate, latency percentiles, and every response counted.</summary>
internal sealed record HttpLoadResult(double RequestsPerSecond, long Requests, TimeSpan P50, TimeSpan P99, long Errors);

/// <summary>
/// The HTTP/1.1 load generators, each in its own process (Debian packages): wrk for the peak rate
/// (as many requests as the connections carry), hey for latency at a fixed rate (-q per connection).
/// Both keep connections alive and count non-2xx answers and socket errors as errors.
/// </summary>
internal static partial class HttpLoadTools
{
    public const string Wrk = "/usr/bin/wrk";
    public const string Hey = "/usr/bin/hey";

    public static bool AreInstalled => File.Exists(Wrk) && File.Exists(Hey);

    /// <summary>"wrk 4.1.0" (from its banner), and hey's Debian package version.</summary>
    public static async Task<string> VersionsAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Wrk, "-v") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not run wrk -v.");
        var banner = (await process.StandardOutput.ReadToEndAsync(cancellationToken)) + await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var wrk = Regex.Match(banner, @"^wrk \S+", RegexOptions.Multiline).Value;
        var dpkg = new ProcessStartInfo("dpkg-query", "-W -f=${Version} hey") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var query = Process.Start(dpkg);
        var hey = query is null ? "" : (await query.StandardOutput.ReadToEndAsync(cancellationToken)).Trim();
        if (query is not null)
        {
            await query.WaitForExitAsync(cancellationToken);
        }
        return $"{(wrk.Length > 0 ? wrk : "wrk")}, hey {(hey.Length > 0 ? hey : "(version unknown)")}";
    }

    /// <summary>wrk -t threads -c connections -d duration --latency: the peak.</summary>
    public static async Task<HttpLoadResult> PeakAsync(Uri url, int threads, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        var output = await RunAsync(Wrk, [
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", Seconds(duration) + "s",
            "--latency", url.ToString()], duration, cancellationToken);
        var errors = 0L;
        if (NonSuccess().Match(output) is { Success: true } non2xx)
        {
            errors += long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        if (SocketErrors().Match(output) is { Success: true } socket)
        {
            errors += Enumerable.Range(1, 4).Sum(g => long.Parse(socket.Groups[g].Value, CultureInfo.InvariantCulture));
        }
        return new HttpLoadResult(
            double.Parse(Required(RequestsPerSecond(), output, "Requests/sec").Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(Required(WrkRequests(), output, "requests in").Groups[1].Value, CultureInfo.InvariantCulture),
            WrkLatency(output, "50%"),
            WrkLatency(output, "99%"),
            errors);
    }

    /// <summary>hey -z duration -c connections -q (rate / connections): latency at a fixed rate.</summary>
    public static async Task<HttpLoadResult> AtRateAsync(Uri url, int connections, double rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var perConnection = Math.Max(1, rate / connections);
        var output = await RunAsync(Hey, [
            "-z", Seconds(duration) + "s",
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-q", perConnection.ToString("0.##", CultureInfo.InvariantCulture),
            url.ToString()], duration, cancellationToken);
        var ok = HeyStatus().Matches(output)
            .Where(m => m.Groups[1].Value.StartsWith('2'))
            .Sum(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        var all = HeyStatus().Matches(output).Sum(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        var errorsAt = output.IndexOf("Error distribution:", StringComparison.Ordinal);
        var failed = errorsAt < 0 ? 0 : HeyErrors().Matches(output[errorsAt..]).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        return new HttpLoadResult(
            double.Parse(Required(RequestsPerSecond(), output, "Requests/sec").Groups[1].Value, CultureInfo.InvariantCulture),
            all,
            HeyLatency(output, "50%"),
            HeyLatency(output, "99%"),
            all - ok + failed);
    }

    private static string Seconds(TimeSpan duration) => Math.Max(1, (int)Math.Round(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static async Task<string> RunAsync(string tool, string[] args, TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {tool}.");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(duration + TimeSpan.FromSeconds(30));
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            var output = await stdout;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{Path.GetFileName(tool)} {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}{output}");
            }
            return output;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static Match Required(Regex regex, string output, string what)
    {
        var match = regex.Match(output);
        return match.Success ? match : throw new InvalidOperationException($"No '{what}' in the load generator's output:{Environment.NewLine}{output}");
    }

    /// <summary>wrk's "     99%    2.31ms" (us, ms or s).</summary>
    private static TimeSpan WrkLatency(string output, string percentile)
    {
        var match = Required(new Regex(@"^\s+" + Regex.Escape(percentile) + @"\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline), output, percentile);
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => TimeSpan.FromMicroseconds(value),
            "ms" => TimeSpan.FromMilliseconds(value),
            _ => TimeSpan.FromSeconds(value),
        };
    }

    /// <summary>hey's "  99% in 0.0012 secs".</summary>
    private static TimeSpan HeyLatency(string output, string percentile) =>
        TimeSpan.FromSeconds(double.Parse(
            Required(new Regex(@"^\s+" + Regex.Escape(percentile) + @" in ([\d.]+) secs", RegexOptions.Multiline), output, percentile).Groups[1].Value,
            CultureInfo.InvariantCulture));

    /// <summary>Both tools print "Requests/sec:" and the rate.</summary>
    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in ")]
    private static partial Regex WrkRequests();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();

    [GeneratedRegex(@"\[(\d{3})\]\s+(\d+) responses")]
    private static partial Regex HeyStatus();

    [GeneratedRegex(@"^\s+\[(\d+)\]\s+.+$", RegexOptions.Multiline)]
    private static partial Regex HeyErrors();
}
