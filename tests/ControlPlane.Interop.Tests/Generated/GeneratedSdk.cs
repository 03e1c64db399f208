using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Generated;

/// <summary>
/// Runs <c>buf generate</c> with the repo's buf.gen.yaml once per test run, into a temporary
/// directory (never into the work tree), with the local plugins it names: protoc's python
/// generator, /usr/bin/grpc_python_plugin and npm's protoc-gen-es.
/// </summary>
public static class GeneratedSdk
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _output;

    /// <summary>The generated tree's root (holding agents-sdk/generated/{python,ts}); skips, or fails in CI, without the plugins.</summary>
    public static async Task<string> GenerateAsync()
    {
        await Prerequisites.RequirePythonGrpcAsync();
        var buf = Prerequisites.RequireBuf();
        var es = ProtocGenEs();
        // The other holder generates within its own limits (buf and the plugins run under timeouts); waiting
        // longer than a generation can take means it hung.
        Assert.True(await Gate.WaitAsync(TimeSpan.FromMinutes(4)), "buf generate held the gate for 4 minutes");
        try
        {
            if (_output is not null)
            {
                return _output;
            }
            var output = Directory.CreateTempSubdirectory("buf-generate-").FullName;
            var path = Path.GetDirectoryName(es) + Path.PathSeparator + Path.GetDirectoryName(Prerequisites.GrpcPythonPlugin) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
            var result = await ExternalProcess.RunAsync(buf, ["generate", "--template", "buf.gen.yaml", "-o", output], Timeout, ExternalTools.RepoRoot(),
                new Dictionary<string, string> { ["PATH"] = path });
            Assert.True(result.ExitCode == 0, result.ToString());
            _output = output;
            return output;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>npm's protoc-gen-es (package.json), in the repo's node_modules/.bin or on PATH.</summary>
    public static string ProtocGenEs() => ExternalTools.RequireOnPath("protoc-gen-es", "cd <repo> && npm install");

    public static string Python(string root) => Path.Combine(root, "agents-sdk", "generated", "python");

    public static string TypeScript(string root) => Path.Combine(root, "agents-sdk", "generated", "ts");
}
