using ControlPlane.Interop.Tests.Infrastructure;
using Google.Protobuf.Reflection;

namespace ControlPlane.Interop.Tests.Contracts;

/// <summary>Compiles .proto files with protoc (Debian's protobuf-compiler) into a FileDescriptorSet.</summary>
public static class Protoc
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The descriptor of <paramref name="file"/> (relative to <paramref name="protoRoot"/>), as protoc compiles it.</summary>
    public static async Task<FileDescriptorProto> CompileAsync(string protoRoot, string file)
    {
        var protoc = Prerequisites.RequireProtoc();
        var output = Path.Combine(Path.GetTempPath(), $"interop-contract-{Guid.NewGuid():N}.pb");
        try
        {
            var result = await ExternalProcess.RunAsync(protoc, [$"--proto_path={protoRoot}", $"--descriptor_set_out={output}", file], Timeout);
            Assert.True(result.ExitCode == 0, result.ToString());
            var set = FileDescriptorSet.Parser.ParseFrom(await File.ReadAllBytesAsync(output));
            return Assert.Single(set.File, f => f.Name == file);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
