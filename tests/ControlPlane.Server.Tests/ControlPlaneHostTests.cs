using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server;
using Grpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Server.Tests;

/// <summary>The control-plane host as the README runs it, on free loopback ports.</summary>
public sealed class ControlPlaneHostTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _grpc = null!;
    private Uri _http = null!;

    public async ValueTask InitializeAsync()
    {
        _app = ControlPlaneHost.Build(["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1"]);
        await _app.StartAsync().DefaultTimeout();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        // Listeners are created gRPC first, then REST/ops.
        _grpc = new Uri(addresses[0]);
        _http = new Uri(addresses[1]);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task GrpcPort_ServesHealth()
    {
        using var channel = GrpcChannel.ForAddress(_grpc);
        var check = new Method<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor.Services[0].Methods[0]);
        var response = await channel.AsyncUnaryCall(check, new HealthCheckRequest()).ResponseAsync.DefaultTimeout();
        Assert.Equal(ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task GrpcPort_TakesManySmallMetadataEntries_AsGrpcBoundsMetadataBySize()
    {
        // Kestrel's default of 100 request header fields answered 431 (UNKNOWN to the client) to a call
        // with 95 small entries, about 3 KB; gRPC implementations bound metadata by size alone.
        using var channel = GrpcChannel.ForAddress(_grpc);
        var check = new Method<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor.Services[0].Methods[0]);
        var metadata = new Metadata();
        for (var i = 0; i < 500; i++)
        {
            metadata.Add($"x-entry-{i}", "v");
        }
        var response = await channel.AsyncUnaryCall(check, new HealthCheckRequest(), new CallOptions(headers: metadata)).ResponseAsync.DefaultTimeout();
        Assert.Equal(ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task HttpPort_ServesOpsEndpoints()
    {
        using var http = new HttpClient { BaseAddress = _http };
        Assert.Equal("ok", await http.GetStringAsync("/healthz").DefaultTimeout());
        Assert.Equal("ok", await http.GetStringAsync("/readyz").DefaultTimeout());
        var version = await http.GetFromJsonAsync<JsonElement>("/version").DefaultTimeout();
        Assert.Equal("controlplane", version.GetProperty("name").GetString());
        foreach (var field in new[] { "version", "git_sha", "build_time" })
        {
            Assert.False(string.IsNullOrEmpty(version.GetProperty(field).GetString()), field);
        }
    }

    [Fact]
    public async Task GrpcPort_IsHttp2Only_SoHttp11ClientsAreRefused()
    {
        using var http = new HttpClient { BaseAddress = _grpc };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetStringAsync("/healthz").DefaultTimeout());
    }
}
