namespace ControlPlane.Interop.Tests.Infrastructure;

/// <summary>The external peers these tests need: skipped on a developer's machine, a failure in CI (see <see cref="ExternalTools"/>).</summary>
public static class Prerequisites
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(60);
    private static readonly Lazy<Task<string?>> PythonGrpcProbe = new(ProbePythonGrpcAsync);

    public const string Python = "/usr/bin/python3";
    public const string GrpcPythonPlugin = "/usr/bin/grpc_python_plugin";
    public const string GrpcProtoRoot = "/usr/share/grpc-proto";

    public static string PythonHarnessDirectory => Path.Combine(ExternalTools.RepoRoot(), "tests", "interop", "python");

    /// <summary>Debian's python3 with grpcio and protobuf, protoc, and the grpc python plugin (what the harness runs on).</summary>
    public static async Task RequirePythonGrpcAsync()
    {
        ExternalTools.Require(Python, "apt-get install python3");
        ExternalTools.Require(GrpcPythonPlugin, "apt-get install protobuf-compiler-grpc");
        RequireProtoc();
        if (await PythonGrpcProbe.Value.DefaultTimeout() is { } problem)
        {
            ExternalTools.Unavailable($"{Python} cannot import grpc: {problem} (apt-get install python3-grpcio python3-protobuf)");
        }
    }

    /// <summary>protoc from Debian's protobuf-compiler.</summary>
    public static string RequireProtoc() => ExternalTools.RequireOnPath("protoc", "apt-get install protobuf-compiler");

    /// <summary>buf from npm (@bufbuild/buf), in the repo's node_modules or on PATH.</summary>
    public static string RequireBuf() => ExternalTools.RequireOnPath("buf", "cd <repo> && npm install");

    /// <summary>The reference gRPC protos of Debian's grpc-proto package.</summary>
    public static string RequireGrpcProto(string relativePath) =>
        ExternalTools.Require(Path.Combine(GrpcProtoRoot, relativePath), "apt-get install grpc-proto");

    private static async Task<string?> ProbePythonGrpcAsync()
    {
        var result = await ExternalProcess.RunAsync(Python, ["-c", "import grpc, google.protobuf"], ProbeTimeout);
        return result.ExitCode == 0 ? null : result.StandardError.Trim();
    }
}
