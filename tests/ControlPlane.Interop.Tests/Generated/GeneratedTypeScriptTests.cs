using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Generated;

/// <summary>
/// The orchestrators' TypeScript SDK (@bufbuild/protoc-gen-es, target=ts) is produced for every
/// proto and type-checks with tsc (typescript comes with protoc-gen-es, so no extra dependency)
/// against the @bufbuild/protobuf runtime it imports.
/// </summary>
public sealed class GeneratedTypeScriptTests
{
    private static readonly TimeSpan TscTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task TypeScriptClient_IsProducedForEveryProto_AndCompiles()
    {
        var root = await GeneratedSdk.GenerateAsync().WaitAsync(TimeSpan.FromMinutes(4));
        var ts = GeneratedSdk.TypeScript(root);

        var protos = Directory.GetFiles(Path.Combine(ExternalTools.RepoRoot(), "protos", "controlplane", "v1"), "*.proto").Select(Path.GetFileNameWithoutExtension).Order().ToArray();
        var generated = Directory.GetFiles(Path.Combine(ts, "controlplane", "v1"), "*_pb.ts").Select(f => Path.GetFileNameWithoutExtension(f)[..^3]).Order().ToArray();
        Assert.Equal(protos, generated);
        var registry = await File.ReadAllTextAsync(Path.Combine(ts, "controlplane", "v1", "registry_pb.ts"));
        Assert.Contains("export const RegistryService: GenService<", registry, StringComparison.Ordinal);
        Assert.Contains("export const RegisterRequestSchema", registry, StringComparison.Ordinal);

        // Type-check it where the runtime it imports is installed (the node_modules holding protoc-gen-es).
        var nodeModules = Path.GetDirectoryName(Path.GetDirectoryName(GeneratedSdk.ProtocGenEs()))!;
        var tsc = ExternalTools.Require(Path.Combine(nodeModules, ".bin", "tsc"), "cd <repo> && npm install (typescript comes with @bufbuild/protoc-gen-es)");
        if (!Directory.Exists(Path.Combine(ts, "node_modules")))
        {
            Directory.CreateSymbolicLink(Path.Combine(ts, "node_modules"), nodeModules);
        }
        await File.WriteAllTextAsync(Path.Combine(ts, "tsconfig.json"),
            """{"compilerOptions":{"strict":true,"noEmit":true,"target":"es2022","module":"esnext","moduleResolution":"bundler","skipLibCheck":true},"include":["**/*.ts"],"exclude":["node_modules"]}""");

        var result = await ExternalProcess.RunAsync(tsc, ["-p", "tsconfig.json"], TscTimeout, ts).WaitAsync(TscTimeout + TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
