using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ControlPlane.Mcp.Tests.Interop;

/// <summary>
/// An independent client: a Python script (stdlib only) starts the server as a process
/// (tests/ControlPlane.Mcp.TestHost, the library on Console stdin/stdout) and speaks MCP's stdio
/// transport to it: lifecycle, tools, the gate, the allow-list, a parse error, prompts, shutdown on
/// EOF, and JSON log lines on stderr only.
/// </summary>
public sealed class InteropTests
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task A_python_stdlib_client_speaks_MCP_to_the_server_process()
    {
        ExternalTools.Require(Python, "apt-get install python3");
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "mcp_stdio_client.py");
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { script, DotnetHost(), TestHostAssembly(), "lb-stats-agent" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().DefaultTimeout();
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        Assert.True(process.ExitCode == 0, $"the Python client failed:\n{await stdout.DefaultTimeout()}\n{await stderr.DefaultTimeout()}");
        Assert.Equal("OK", (await stdout.DefaultTimeout()).Trim());
    }

    /// <summary>The dotnet host running the tests (…/dotnet beside shared/Microsoft.NETCore.App/&lt;version&gt;/), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        var host = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(host) ? host : "dotnet";
    }

    /// <summary>The test host as the solution built it, in the same configuration as this assembly.</summary>
    private static string TestHostAssembly()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var path = Path.Combine(ExternalTools.RepoRoot(), "tests", "ControlPlane.Mcp.TestHost", "bin", configuration, "net10.0", "ControlPlane.Mcp.TestHost.dll");
        Assert.True(File.Exists(path), $"{path} is missing: build the solution first");
        return path;
    }
}
