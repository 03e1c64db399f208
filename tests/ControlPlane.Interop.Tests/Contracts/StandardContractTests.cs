using ControlPlane.Interop.Tests.Infrastructure;
using Google.Protobuf.Reflection;

namespace ControlPlane.Interop.Tests.Contracts;

/// <summary>
/// Our copies of the standard gRPC health and reflection protos must have the same wire contract
/// as the reference copies (Debian's grpc-proto, /usr/share/grpc-proto), or standard tools
/// (grpcurl, buf curl, Kubernetes probes, load balancers) would misread our server.
/// </summary>
public sealed class StandardContractTests
{
    public static readonly TheoryData<string> StandardProtos = new()
    {
        "grpc/health/v1/health.proto",
        "grpc/reflection/v1/reflection.proto",
        "grpc/reflection/v1alpha/reflection.proto",
    };

    private static readonly Dictionary<string, FileDescriptor> CompiledIntoRuntime = new()
    {
        ["grpc/health/v1/health.proto"] = global::Grpc.Health.V1.HealthReflection.Descriptor,
        ["grpc/reflection/v1/reflection.proto"] = global::Grpc.Reflection.V1.ReflectionReflection.Descriptor,
        ["grpc/reflection/v1alpha/reflection.proto"] = global::Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor,
    };

    [Theory]
    [MemberData(nameof(StandardProtos))]
    public async Task OurProto_HasTheReferenceWireContract(string file)
    {
        Prerequisites.RequireGrpcProto(file);
        var reference = await Protoc.CompileAsync(Prerequisites.GrpcProtoRoot, file);
        var ours = await Protoc.CompileAsync(Path.Combine(ExternalTools.RepoRoot(), "protos"), file);

        AssertNotEmpty(reference);
        Assert.Equal(ProtoContract.Render(reference), ProtoContract.Render(ours));
    }

    [Theory]
    [MemberData(nameof(StandardProtos))]
    public async Task DescriptorServedByReflection_HasTheReferenceWireContract(string file)
    {
        Prerequisites.RequireGrpcProto(file);
        var reference = await Protoc.CompileAsync(Prerequisites.GrpcProtoRoot, file);
        // What the runtime embeds (and serves to reflection clients), as Grpc.Tools compiled it.
        var served = FileDescriptorProto.Parser.ParseFrom(CompiledIntoRuntime[file].SerializedData);

        Assert.Equal(ProtoContract.Render(reference), ProtoContract.Render(served));
    }

    private static void AssertNotEmpty(FileDescriptorProto file)
    {
        var service = Assert.Single(file.Service);
        Assert.NotEmpty(service.Method);
        Assert.NotEmpty(file.MessageType);
    }
}
