using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1;

namespace ControlPlane.Grpc.Tests.Reflection;

public sealed class ReflectionServiceTests
{
    private static readonly Method<ServerReflectionRequest, ServerReflectionResponse> Info = new(ReflectionReflection.Descriptor.Services[0].Methods[0]);

    [Fact]
    public async Task ListsServices_DescribesFiles_WithDependenciesOncePerStream_AndReportsUnknownSymbols()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app =>
            {
                app.MapGrpcService<InteropTestService>(InteropMethods.TestService);
                app.MapGrpcHealthService();
                app.MapGrpcReflectionService();
            },
        });
        using var channel = server.CreateChannel();
        using var call = channel.AsyncDuplexStreamingCall(Info);

        async Task<ServerReflectionResponse> Ask(ServerReflectionRequest request)
        {
            await call.RequestStream.WriteAsync(request).DefaultTimeout();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal(request, call.ResponseStream.Current.OriginalRequest);
            return call.ResponseStream.Current;
        }

        var list = await Ask(new ServerReflectionRequest { ListServices = "" });
        Assert.Equal(
            ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "interop.v1.TestService"],
            list.ListServicesResponse.Service.Select(s => s.Name));

        var method = await Ask(new ServerReflectionRequest { FileContainingSymbol = "interop.v1.TestService.UnaryCall" });
        var file = FileDescriptorProto.Parser.ParseFrom(method.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("interop/v1/test.proto", file.Name);
        Assert.Contains(file.Service, s => s.Name == "TestService");

        var message = await Ask(new ServerReflectionRequest { FileContainingSymbol = "interop.v1.SimpleRequest" });
        Assert.Single(message.FileDescriptorResponse.FileDescriptorProto); // sent again, nothing new with it

        var missing = await Ask(new ServerReflectionRequest { FileContainingSymbol = "no.such.Thing" });
        Assert.Equal((int)StatusCode.NotFound, missing.ErrorResponse.ErrorCode);

        // Fields, oneofs and enum values are symbols too (grpcurl describe grpc.health.v1.HealthCheckResponse.status);
        // an enum value is its enum's sibling, as protobuf scopes it.
        foreach (var symbol in new[]
        {
            "interop.v1.SimpleRequest.response_size", "grpc.health.v1.HealthCheckResponse.status",
            "grpc.health.v1.HealthCheckResponse.SERVING", "grpc.reflection.v1.ServerReflectionRequest.message_request",
        })
        {
            var found = await Ask(new ServerReflectionRequest { FileContainingSymbol = symbol });
            Assert.True(found.FileDescriptorResponse is not null, symbol);
        }
        var enumScoped = await Ask(new ServerReflectionRequest { FileContainingSymbol = "grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING" });
        Assert.Equal((int)StatusCode.NotFound, enumScoped.ErrorResponse.ErrorCode);

        var byName = await Ask(new ServerReflectionRequest { FileByFilename = "grpc/health/v1/health.proto" });
        Assert.Equal("grpc/health/v1/health.proto", FileDescriptorProto.Parser.ParseFrom(byName.FileDescriptorResponse.FileDescriptorProto[0]).Name);

        await call.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
    }
}
