using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using ControlPlane.Agents;

namespace ControlPlane.Agents.Tests.Infrastructure;

/// <summary>cpctl as a user runs it: its own process (dotnet cpctl.dll), a clean environment plus the given variables, stdout and stderr captured.</summary>
public static class Cpctl
{
    private static readonly string[] Inherited = ["PATH", "HOME", "TMPDIR", "DOTNET_ROOT", "DOTNET_CLI_HOME", "NUGET_PACKAGES", "LANG"];

    public static async Task<CpctlResult> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = Start(environment, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await WaitForExitAsync(process);
        return new CpctlResult(process.ExitCode, await stdout.DefaultTimeout(), await stderr.DefaultTimeout());
    }

    /// <summary>Starts cpctl and leaves it running (a command that holds, like sd register); stdin is closed.</summary>
    public static Process Start(IReadOnlyDictionary<string, string> environment, params string[] args) => Start(environment, keepInput: false, args);

    /// <summary>Starts cpctl and leaves it running; with <paramref name="keepInput"/>, stdin stays open for the test to write (cpctl mcp).</summary>
    public static Process Start(IReadOnlyDictionary<string, string> environment, bool keepInput, params string[] args)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Binaries.Cpctl);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment.Clear();
        foreach (var variable in Inherited)
        {
            if (Environment.GetEnvironmentVariable(variable) is { } value)
            {
                info.Environment[variable] = value;
            }
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info)!;
        if (!keepInput)
        {
            process.StandardInput.Close();
        }
        return process;
    }

    public static async Task WaitForExitAsync(Process process)
    {
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    /// <summary>
    /// SIGINT, as Ctrl-C at a terminal. A process started from a shell's background job ignores SIGINT
    /// (POSIX: so does everything it starts, cpctl included), so there SIGTERM, which cpctl handles the
    /// same way, stands in for it.
    /// </summary>
    public static async Task InterruptAsync(Process process)
    {
        var signal = IgnoresSigint(process.Id) ? "-TERM" : "-INT";
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync().DefaultTimeout();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Whether the process ignores SIGINT: bit 1 (signal 2) of SigIgn in /proc/PID/status.</summary>
    private static bool IgnoresSigint(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
    }

    private static string DotnetHost()
    {
        var host = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(host) ? host : "dotnet";
    }
}

public sealed record CpctlResult(int ExitCode, string Stdout, string Stderr)
{
    public AgentEnvelope Envelope => AgentEnvelope.Parse(Stdout);

    public override string ToString() => $"exit {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{Stdout}{Environment.NewLine}stderr:{Environment.NewLine}{Stderr}";
}
