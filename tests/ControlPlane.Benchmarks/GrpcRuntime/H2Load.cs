using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// nghttp2's h2load (Debian package nghttp2-client): an independent HTTP/2 load generator in C,
/// so that unary calls/s measure the servers and not a .NET client sharing their cores.
/// </summary>
internal static partial class H2Load
{
    private const string Executable = "h2load";
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The h2load version line, or null when it is not installed.</summary>
    public static async Task<string?> VersionAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (exitCode, output, _) = await ExecuteAsync(["--version"], TimeSpan.FromSeconds(10), cancellationToken);
            return exitCode == 0 ? output.Trim() : null;
        }
        catch (Win32Exception)
        {
            return null;
        }
    }

    /// <summary>How fast, and how many requests completed in the measured window.</summary>
    public readonly record struct Result(double RequestsPerSecond, long Requests);

    /// <summary>
    /// Posts <paramref name="dataFile"/> (one framed request) as a gRPC call to <paramref name="target"/>
    /// for <paramref name="duration"/> (after <paramref name="ramp"/>, if any), from one thread.
    /// Throws unless every request completed with a 2xx status.
    /// </summary>
    public static async Task<Result> RunAsync(
        Uri target, string dataFile, int connections, int streams, TimeSpan ramp, TimeSpan duration, CancellationToken cancellationToken)
    {
        List<string> args =
        [
            "-t", "1",
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-m", streams.ToString(CultureInfo.InvariantCulture),
            "-D", Milliseconds(duration),
            "-d", dataFile,
            "-H", "content-type: " + GrpcFrames.ContentType,
            "-H", "te: trailers",
        ];
        if (ramp > TimeSpan.Zero)
        {
            args.Add("--warm-up-time=" + Milliseconds(ramp));
        }
        args.Add(target.ToString());
        var (exitCode, output, error) = await ExecuteAsync([.. args], ramp + duration + ExitTimeout, cancellationToken);
        var finished = FinishedLine().Match(output);
        var requests = RequestsLine().Match(output);
        var statuses = StatusLine().Match(output);
        if (exitCode != 0 || !finished.Success || !requests.Success || !statuses.Success)
        {
            throw new InvalidOperationException($"h2load failed (exit {exitCode}) against {target}:{Environment.NewLine}{output}{error}");
        }
        long Group(Match m, string name) => long.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture);
        var done = Group(requests, "done");
        var succeeded = Group(requests, "succeeded");
        var ok = Group(statuses, "ok");
        if (done == 0 || Group(requests, "failed") != 0 || Group(requests, "errored") != 0 || Group(requests, "timeout") != 0 || ok != succeeded)
        {
            throw new InvalidOperationException($"h2load against {target}: not every request succeeded with 2xx:{Environment.NewLine}{output}");
        }
        return new Result(double.Parse(finished.Groups["rps"].Value, CultureInfo.InvariantCulture), done);
    }

    private static string Milliseconds(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    private static async Task<(int ExitCode, string Output, string Error)> ExecuteAsync(string[] args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start h2load.");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var error = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            return (process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"h2load did not finish within {timeout.TotalSeconds:0}s.");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    // finished in 3.00s, 41234.33 req/s, 5.12MB/s
    [GeneratedRegex(@"^finished in [\d.]+m?s, (?<rps>[\d.]+) req/s", RegexOptions.Multiline)]
    private static partial Regex FinishedLine();

    // requests: 123 total, 123 started, 123 done, 123 succeeded, 0 failed, 0 errored, 0 timeout
    [GeneratedRegex(@"^requests: \d+ total, \d+ started, (?<done>\d+) done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored, (?<timeout>\d+) timeout", RegexOptions.Multiline)]
    private static partial Regex RequestsLine();

    // status codes: 123 2xx, 0 3xx, 0 4xx, 0 5xx
    [GeneratedRegex(@"^status codes: (?<ok>\d+) 2xx", RegexOptions.Multiline)]
    private static partial Regex StatusLine();
}
