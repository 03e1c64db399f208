using System.Globalization;
using System.Runtime.InteropServices;

namespace ControlPlane.Benchmarks.Reporting;

/// <summary>
/// docs/benchmarks.md, where each benchmark owns one section (from its "## " heading to the next)
/// and rewrites only that one; hand-written sections between them are kept.
/// </summary>
internal static class BenchmarksDocument
{
    private const string Intro = """
        # Benchmarks

        Throughput of this repository's code against the ceiling of the stack it runs on, measured
        side by side in the same run. The benchmarks are in `tests/ControlPlane.Benchmarks`; each
        one rewrites its own section below when it runs, with the command that produced it.

        They run on a shared, noisy machine with 2 cores, load generator and servers on loopback.
        Absolute numbers move with whatever else the machine is doing; the ratios, taken from
        alternating runs in one process a few seconds apart, are what to compare. Run them in
        Release with nothing else building.

        """;

    /// <summary>The command line that produced a report: how to run <paramref name="command"/> with <paramref name="args"/> from the repository root.</summary>
    public static string Command(string command, ReadOnlySpan<string> args) =>
        string.Join(' ', ["dotnet run -c Release --project tests/ControlPlane.Benchmarks --", command, .. args]);

    /// <summary>"Run 2026-11-21 11:36 UTC: 2 cores, Debian ..., .NET 10.0.12" and any <paramref name="tools"/>, ending with a period.</summary>
    public static string MachineLine(DateTimeOffset date, params string[] tools) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Run {date:yyyy-MM-dd HH:mm} UTC: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}")
        + string.Concat(tools.Select(t => ", " + t)) + ".";

    /// <summary>Writes <paramref name="section"/> under <paramref name="heading"/> of <paramref name="path"/> and says so; null: print only (--no-write).</summary>
    public static void Publish(string? path, string heading, string section)
    {
        if (path is null)
        {
            return;
        }
        WriteSection(path, heading, section);
        Console.WriteLine($"Wrote the section '{heading[3..]}' of {path}.");
    }

    /// <summary>Replaces the section under <paramref name="heading"/> of <paramref name="path"/> (or appends it), keeping the rest.</summary>
    public static void WriteSection(string path, string heading, string section)
    {
        var text = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : Intro;
        var start = text.IndexOf(heading + "\n", StringComparison.Ordinal);
        if (start < 0)
        {
            text = text.TrimEnd('\n') + "\n\n" + section;
        }
        else
        {
            var next = text.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
            var rest = next < 0 ? "" : text[(next + 1)..];
            text = text[..start] + section + (rest.Length > 0 ? "\n" + rest : "");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text.TrimEnd('\n') + "\n");
    }

    /// <summary>docs/benchmarks.md of the repository the benchmark runs in (found from the working directory up).</summary>
    public static string DefaultPath()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ControlPlane.sln")))
                {
                    return Path.Combine(dir.FullName, "docs", "benchmarks.md");
                }
            }
        }
        return Path.GetFullPath(Path.Combine("docs", "benchmarks.md"));
    }
}
