using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Server.Tests.Ops;
using ControlPlane.Server.Tests.Policies;

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

        Assert.Equal(expectedStatus, await SendFrameAsync(host, "RegistryService/Register", body, token: null));
        var registry = (ControlPlane.Server.Registry.ServiceRegistry)host.Services.GetService(typeof(ControlPlane.Server.Registry.ServiceRegistry))!;
        Assert.Empty((await registry.ListAsync(new ListServicesRequest())).Instances);
    }

    private const string Token = "hostile-frames-token";

    public static TheoryData<string, byte[], string> BadFramesForEveryMutation()
    {
        var data = new TheoryData<string, byte[], string>();
        string[] methods =
        [
            "RegistryService/Heartbeat", "RegistryService/Deregister", "RegistryService/DrainInstance",
            "PolicyService/SetPolicy", "PolicyService/DeletePolicy",
        ];
        foreach (var method in methods)
        {
            data.Add(method, [0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], "13");
            data.Add(method, [0, 0, 0, 0, 9, 0x0A, 0x05, 0x61], "13");
            data.Add(method, [0, 0x7F, 0xFF, 0xFF, 0xFF], "8");
            data.Add(method, [1, 0, 0, 0, 1, 0], "13");
        }
        return data;
    }

    /// <summary>
    /// The other mutating methods, admin ones with the token (so the frame itself is what is refused):
    /// the registered instance and the policy stay exactly as they were.
    /// </summary>
    [Theory]
    [MemberData(nameof(BadFramesForEveryMutation))]
    public async Task BadFrames_ToAnyMutation_GetAStatus_AndChangeNothing(string method, byte[] body, string expectedStatus)
    {
        await using var host = await ControlPlaneFixture.StartWithTokenAsync(Token);
        using var rest = host.CreateHttpClient();
        await RestCalls.JsonAsync(await RestCalls.SendAsync(rest, HttpMethod.Post, "/v1/services/register", """
            {"name":"video-svc","image":"img.video.svc","instance_id":"i1","host":"backend1","port":8080,"ttl_seconds":30}
            """), HttpStatusCode.OK);
        await RestCalls.JsonAsync(await RestCalls.SendAsync(rest, HttpMethod.Put, "/v1/policy/img.video.svc", """{"algorithm":"round_robin"}""", Token), HttpStatusCode.OK);
        var before = await StateAsync(rest);

        Assert.Equal(expectedStatus, await SendFrameAsync(host, method, body, Token));
        Assert.Equal(before, await StateAsync(rest));
    }

    /// <summary>Posts <paramref name="body"/> as it is to /controlplane.v1.<paramref name="method"/> over HTTP/2; returns the call's grpc-status.</summary>
    private static async Task<string?> SendFrameAsync(ControlPlaneFixture host, string method, byte[] body, string? token)
    {
        using var http = new HttpClient(new SocketsHttpHandler());
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Grpc, "/controlplane.v1." + method))
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("x-platform-token", token);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        return response.Headers.TryGetValues("grpc-status", out var h) ? h.First()
            : response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.First() : null;
    }

    /// <summary>The instance and the policy as REST shows them.</summary>
    private static async Task<string> StateAsync(HttpClient rest)
    {
        var instance = await rest.GetStringAsync("/v1/instances/i1").DefaultTimeout();
        var policy = await rest.GetStringAsync("/v1/policy/img.video.svc").DefaultTimeout();
        return instance + "\n" + policy;
    }
}
