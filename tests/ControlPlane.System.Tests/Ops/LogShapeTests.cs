using ControlPlane.TestCommon;
using System.Net;
using System.Text.Json;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Ops;

/// <summary>
/// The control plane and the nodes print one JSON object per line, in one shape, so one log pipeline
/// follows a request across both by its trace id and request id.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class LogShapeTests(Platform platform)
{
    private const string Image = "img.logs";
    private static readonly string[] Shape = ["ts", "level", "category", "event_id", "message"];

    [Fact]
    public Task ControlPlaneAndNodes_LogTheSameJsonLines_WithTraceAndRequestIds() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        var controlPlaneMark = platform.ControlPlane.Process.LineCount;
        var nodeMark = platform.Node1.Process.LineCount;
        // An instance nobody listens for: the node's connect failure is logged during the client's request.
        await platform.ControlPlane.ChangeAsync("EndpointSet", platform.NodeIds, () =>
            platform.ControlPlane.RegisterAsync(Image, "logs-dead", FreePorts.Next(), requestId: "sys-register-1"));
        await using var registration = new Registration(platform, ["logs-dead"]);
        const string traceId = "0af7651916cd43dd8448eb211c80319c";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/g/{Image}/x");
        request.Headers.Add("traceparent", $"00-{traceId}-b7ad6b7169203331-01");
        request.Headers.Add("X-Request-ID", "sys-proxy-1");

        var answer = await platform.Node1.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadGateway, answer.Status);
        var registered = await LineAsync(platform.ControlPlane.Process, controlPlaneMark, e => Event(e) == 3001 && Field(e, "request_id") == "sys-register-1");
        Assert.Equal("logs-dead", Field(registered, "InstanceId"));
        Assert.Matches("^[0-9a-f]{32}$", Field(registered, "trace_id"));
        var connectFailed = await LineAsync(platform.Node1.Process, nodeMark, e => Event(e) == 2001 && Field(e, "request_id") == "sys-proxy-1");
        Assert.Equal(traceId, Field(connectFailed, "trace_id")); // the node continued the client's trace
        Assert.Equal("warn", Field(connectFailed, "level"));
        Assert.Equal(Image, Field(connectFailed, "Image"));

        // Every line each of them printed, from start, is such an object.
        foreach (var process in new[] { platform.ControlPlane.Process, platform.Node1.Process, platform.Node2.Process })
        {
            var stdout = process.Lines.Where(l => !l.StartsWith("[stderr]", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(stdout);
            Assert.All(stdout, line =>
            {
                using var json = JsonDocument.Parse(line);
                Assert.All(Shape, key => Assert.True(json.RootElement.TryGetProperty(key, out _), $"{process.Name}: '{key}' missing in {line}"));
            });
        }
    });

    /// <summary>Until a line after <paramref name="mark"/> matches (a process writes its log asynchronously).</summary>
    private static async Task<JsonElement> LineAsync(ChildProcess process, int mark, Func<JsonElement, bool> match)
    {
        JsonElement found = default;
        await Eventually.WaitAsync($"a matching log line from {process.Name}", () =>
        {
            foreach (var line in process.LinesSince(mark))
            {
                if (line.StartsWith('{'))
                {
                    var element = JsonDocument.Parse(line).RootElement;
                    if (match(element))
                    {
                        found = element;
                        return true;
                    }
                }
            }
            return false;
        });
        return found;
    }

    private static int Event(JsonElement e) => e.TryGetProperty("event_id", out var id) ? id.GetInt32() : -1;

    private static string? Field(JsonElement e, string name) => e.TryGetProperty(name, out var value) ? value.ToString() : null;
}
