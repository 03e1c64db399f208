using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Streams;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using ControlPlane.Server.Tests.Ops;
using ControlPlane.Server.Tests.Policies;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>Node streams multiplexed over one HTTP/2 connection, on the control plane as it is built to run.</summary>
public sealed class SharedConnectionTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    private const string DeltaPath = "/controlplane.v1.DiscoveryService/DeltaResources";

    /// <summary>
    /// On HTTP/2 Kestrel enforces its minimum response data rate on the connection: a stream that gets no
    /// window at all would have the whole connection aborted, cutting off the nodes beside it. Kestrel's
    /// rate runs on its own clock, which a test cannot advance: the test tightens it (1.1 s of grace,
    /// registered before the control plane configures Kestrel), so that a control plane that kept a rate
    /// would cut the connection within about 3 s, and waits 4 s. The stuck stream itself is the
    /// discovery service's to close (SlowConsumerTests).
    /// </summary>
    [Fact]
    public async Task ANodeThatGivesItsStreamNoWindow_DoesNotCutOffTheStreamsSharingItsConnection()
    {
        await using var controlPlane = await ControlPlaneFixture.StartWithServicesAsync(
            services => services.Configure<KestrelServerOptions>(k => k.Limits.MinResponseDataRate = new MinDataRate(240, TimeSpan.FromSeconds(1.1))));
        using var http = controlPlane.CreateHttpClient();
        await RegisterAsync(http, "i1", "img.a", 8081);
        var streams = controlPlane.Services.GetRequiredService<StreamRegistry>();
        await using var connection = await RawH2Connection.ConnectAsync(controlPlane.Grpc, initialStreamWindow: 0);

        await connection.OpenAsync(DeltaPath, Subscribe("stuck", "img.a"));
        await Eventually.WaitAsync("the stuck node's first response to wait for a window", () => streams.ForNode("stuck") is [{ BlockedSince: not null }]);
        var beside = await connection.OpenAsync(DeltaPath, Subscribe("beside", "img.a"), window: 1 << 20);
        await Eventually.WaitAsync("the node beside it to get its response", () => connection.Received(beside) > 0);

        if (await Task.WhenAny(connection.Ended, Task.Delay(TimeSpan.FromSeconds(4))) == connection.Ended)
        {
            Assert.Fail($"the connection ended: {await connection.Ended}");
        }
        var later = await connection.OpenAsync(DeltaPath, Subscribe("later", "img.a"), window: 1 << 20);
        await Eventually.WaitAsync("a node opening a stream on the connection afterwards to get its response", () => connection.Received(later) > 0);
        Assert.Single(streams.ForNode("stuck"));
    }

    private static DeltaResourcesRequest Subscribe(string nodeId, string image) =>
        new() { Node = new Node { Id = nodeId }, TypeUrl = Endpoints, ResourceNamesSubscribe = { image } };

    private static async Task RegisterAsync(HttpClient http, string id, string image, int port, string? metadataJson = null)
    {
        var body = $$"""{"name":"svc","image":"{{image}}","instance_id":"{{id}}","host":"10.0.0.1","port":{{port}},"ttl_seconds":3600{{(metadataJson is null ? "" : ",\"metadata\":" + metadataJson)}}}""";
        using var response = await RestCalls.SendAsync(http, HttpMethod.Post, "/v1/services/register", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
