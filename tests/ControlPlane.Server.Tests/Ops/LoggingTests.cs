using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Tests.Registry;

namespace ControlPlane.Server.Tests.Ops;

public sealed class LoggingTests
{
    private static readonly Method<RegisterRequest, RegisterResponse> Register = new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    [Fact]
    public async Task LogLines_AreJson_WithTheCallersTraceIdAndRequestId()
    {
        await using var host = await ControlPlaneFixture.StartAsync();
        using var channel = host.CreateChannel();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        var headers = new Metadata
        {
            { "traceparent", $"00-{traceId}-00f067aa0ba902b7-01" },
            { "x-request-id", "req-42" },
        };

        var call = channel.AsyncUnaryCall(Register, RegistryTestBed.Instance("i1", port: 8080), new CallOptions(headers: headers));
        await call.ResponseAsync.DefaultTimeout();
        var responseHeaders = await call.ResponseHeadersAsync.DefaultTimeout();

        Assert.Equal("req-42", responseHeaders.GetValue("x-request-id"));
        var registered = Assert.Single(host.Logs.Entries, e => e.GetProperty("event_id").GetInt32() == 3001);
        Assert.Equal(traceId, registered.GetProperty("trace_id").GetString());
        Assert.Equal("req-42", registered.GetProperty("request_id").GetString());
        Assert.Equal("info", registered.GetProperty("level").GetString());
        Assert.Equal("i1", registered.GetProperty("InstanceId").GetString());
        Assert.Equal(8080, registered.GetProperty("Port").GetInt32());
    }

    [Fact]
    public async Task WithoutARequestId_OneIsCreated_AndHostileOnesAreReplaced()
    {
        await using var host = await ControlPlaneFixture.StartAsync();
        using var http = host.CreateHttpClient();

        using var plain = await http.GetAsync("/healthz").DefaultTimeout();
        var created = Assert.Single(plain.Headers.GetValues("X-Request-ID"));
        Assert.Matches("^[0-9a-f]{32}$", created);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.TryAddWithoutValidation("X-Request-ID", new string('a', 500));
        using var hostile = await http.SendAsync(request).DefaultTimeout();
        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(hostile.Headers.GetValues("X-Request-ID")));
    }
}
