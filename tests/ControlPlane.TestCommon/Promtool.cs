using System.Diagnostics;

namespace ControlPlane.TestCommon;

/// <summary>
/// Prometheus's own checker (Debian's /usr/bin/promtool, from the prometheus package): <c>promtool
/// check metrics</c> parses an exposition from stdin and lints its names, types and help.
/// </summary>
public static class Promtool
{
    public const string Binary = "/usr/bin/promtool";

    /// <summary>What promtool said: exit 0 is clean, 1 a parse error, 3 lint problems only.</summary>
    public sealed record Result(int ExitCode, IReadOnlyList<string> Problems)
    {
        public override string ToString() => $"promtool exit {ExitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, Problems)}";
    }

    public static async Task<Result> CheckMetricsAsync(string promtool, string exposition)
    {
        var start = new ProcessStartInfo(promtool) { ArgumentList = { "check", "metrics" }, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition).DefaultTimeout();
        process.StandardInput.Close();
        await process.WaitForExitAsync().DefaultTimeout();
        var problems = ((await stdout.DefaultTimeout()) + (await stderr.DefaultTimeout())).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new Result(process.ExitCode, problems);
    }
}
