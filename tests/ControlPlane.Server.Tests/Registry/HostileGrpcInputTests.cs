using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Server.Tests.Ops;

namespace ControlPlane.Server.Tests.Registry;

/// <summary>Malformed and oversized protobuf sent straight to the registry's gRPC methods: a clear status, nothing stored.</summary>
public sealed class HostileGrpcInputTests
{
    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF }, "13")]       // not protobuf
    [InlineData(new byte[] { 0, 0, 0, 0, 9, 0x0A, 0x05, 0x61 }, "13")]       // truncated message
    [InlineData(new byte[] { 0, 0x7F, 0xFF, 0xFF, 0xFF }, "8")]              // claims 2 GiB
    [InlineData(new byte[] { 1, 0, 0, 0, 1, 0 }, "13")]                      // compressed without grpc-encoding
    public async Task BadRegisterFrames_GetAStatus_AndStoreNothing(byte[] body, string expectedStatus)
    {
        await using var host = await ControlPlaneFixture.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler());
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Grpc, "/controlplane.v1.RegistryService/Register"))
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        request.Headers.TryAddWithoutValidation("TE", "trailers");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        var status = response.Headers.TryGetValues("grpc-status", out var h) ? h.First()
            : response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.First() : null;

        Assert.Equal(expectedStatus, status);
        var registry = (ControlPlane.Server.Registry.ServiceRegistry)host.Services.GetService(typeof(ControlPlane.Server.Registry.ServiceRegistry))!;
        Assert.Empty((await registry.ListAsync(new ListServicesRequest())).Instances);
    }
}
