using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Tests.Forwarder;
using ControlPlane.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ControlPlane.Dataplane.Tests.Ops;

/// <summary>The node logs the control plane's JSON lines: one pipeline reads both, by trace and request id.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Console_UsesTheControlPlanesJsonFormatter()
    {
        await using var node = await DataplaneFixture.StartAsync();

        var console = node.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;

        Assert.Equal(JsonLogFormatter.FormatterName, console.FormatterName);
        Assert.Single(node.Services.GetServices<ConsoleFormatter>(), f => f.Name == JsonLogFormatter.FormatterName && f is JsonLogFormatter);
    }

    [Fact]
    public async Task ProxyLogLine_CarriesTheCallersTraceIdAndRequestId()
    {
        var logs = new JsonLogCapture();
        await using var node = await DataplaneFixture.StartAsync(builder => builder.Logging.AddProvider(logs));
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("dead", ErrorAnswerTests.ClosedPort()));
        node.Config.Update(new ImageConfig("img", set));
        using var http = node.CreateClient();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/x");
        request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
        request.Headers.Add("X-Request-ID", "req-7");

        using var response = await http.SendAsync(request).DefaultTimeout();

        Assert.Equal("req-7", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        var connectFailed = Assert.Single(logs.Entries, e => e.GetProperty("event_id").GetInt32() == 2001 && e.GetProperty("category").GetString()!.EndsWith("ProxyHandler", StringComparison.Ordinal));
        Assert.Equal("warn", connectFailed.GetProperty("level").GetString());
        Assert.Equal(traceId, connectFailed.GetProperty("trace_id").GetString());
        Assert.Equal("req-7", connectFailed.GetProperty("request_id").GetString());
        Assert.Equal("img", connectFailed.GetProperty("Image").GetString());
        Assert.Equal("dead", connectFailed.GetProperty("InstanceId").GetString());
        Assert.False(string.IsNullOrEmpty(connectFailed.GetProperty("ts").GetString()));
    }
}
