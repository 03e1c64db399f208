using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Streams;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using ControlPlane.Server.Tests.Ops;
using ControlPlane.Server.Tests.Policies;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>Node streams multiplexed over one HTTP/2 connection, on the control plane as it is built to run.</summary>
public sealed class SharedConnectionTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    private const string DeltaPath = "/controlplane.v1.DiscoveryService/DeltaResources";

    /// <summary>
    /// On HTTP/2 Kestrel enforces its minimum response data rate on the connection: a stream that gets no
    /// window at all had the whole connection aborted (GOAWAY INTERNAL_ERROR 9 to 11 s after its first
    /// response, with Kestrel's default rate), cutting off the nodes beside it. That rate runs on Kestrel's
    /// own clock, which a test cannot advance, so this test waits it out in real time. The stuck stream
    /// itself is the discovery service's to close (SlowConsumerTests).
    /// </summary>
    [Fact]
    public async Task ANodeThatGivesItsStreamNoWindow_DoesNotCutOffTheStreamsSharingItsConnection()
    {
        await using var controlPlane = await ControlPlaneFixture.StartAsync();
        using var http = controlPlane.CreateHttpClient();
        await RegisterAsync(http, "i1", "img.a", 8081);
        for (var i = 0; i < 40; i++)
        {
            await RegisterAsync(http, $"big{i}", "img.big", 9000 + i, SlowConsumerTests.BigMetadata);
        }
        var streams = controlPlane.Services.GetRequiredService<StreamRegistry>();
        await using var connection = await RawH2Connection.ConnectAsync(controlPlane.Grpc, initialStreamWindow: 0);

        // Its first response, far larger than what Kestrel buffers for a stream, waits for a window that never comes.
        await connection.OpenAsync(DeltaPath, Subscribe("stuck", "img.big"));
        await Eventually.WaitAsync("the stuck node's first response to wait for a window", () => streams.ForNode("stuck") is [{ BlockedSince: not null }]);
        var beside = await connection.OpenAsync(DeltaPath, Subscribe("beside", "img.a"), window: 1 << 20);
        await Eventually.WaitAsync("the node beside it to get its response", () => connection.Received(beside) > 0);

        if (await Task.WhenAny(connection.Ended, Task.Delay(KestrelRateWait)) == connection.Ended)
        {
            Assert.Fail($"the connection ended: {await connection.Ended}");
        }
        var later = await connection.OpenAsync(DeltaPath, Subscribe("later", "img.a"), window: 1 << 20);
        await Eventually.WaitAsync("a node opening a stream on the connection afterwards to get its response", () => connection.Received(later) > 0);
        Assert.Single(streams.ForNode("stuck"));
    }

    /// <summary>Longer than Kestrel took to abort such a connection (9 to 11 s in runs on this machine).</summary>
    private static readonly TimeSpan KestrelRateWait = TimeSpan.FromSeconds(13);

    private static DeltaResourcesRequest Subscribe(string nodeId, string image) =>
        new() { Node = new Node { Id = nodeId }, TypeUrl = Endpoints, ResourceNamesSubscribe = { image } };

    private static async Task RegisterAsync(HttpClient http, string id, string image, int port, string? metadataJson = null)
    {
        var body = $$"""{"name":"svc","image":"{{image}}","instance_id":"{{id}}","host":"10.0.0.1","port":{{port}},"ttl_seconds":3600{{(metadataJson is null ? "" : ",\"metadata\":" + metadataJson)}}}""";
        using var response = await RestCalls.SendAsync(http, HttpMethod.Post, "/v1/services/register", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
