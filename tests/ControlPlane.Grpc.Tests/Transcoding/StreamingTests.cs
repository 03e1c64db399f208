using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>Server-streaming methods over REST: one JSON array, written as the handler sends.</summary>
public sealed class StreamingTests
{
    [Fact]
    public async Task ServerStream_IsAJsonArray_ThatArrivesIncrementally()
    {
        await using var rest = await RestTestServer.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rest.Hooks.BeforeWatchMessage = _ => release.Task;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/watch/w?count=3");
        using var response = await rest.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();

        // The first element is readable while the handler still waits to send the second.
        var received = new StringBuilder();
        var buffer = new byte[1024];
        while (!received.ToString().Contains("\"w-0\"", StringComparison.Ordinal))
        {
            var n = await body.ReadAsync(buffer).AsTask().DefaultTimeout();
            Assert.NotEqual(0, n);
            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        Assert.DoesNotContain("w-1", received.ToString(), StringComparison.Ordinal);
        release.SetResult();

        using var reader = new StreamReader(body);
        received.Append(await reader.ReadToEndAsync().DefaultTimeout());
        var items = JsonNode.Parse(received.ToString())!.AsArray();
        Assert.Equal(["w-0", "w-1", "w-2"], items.Select(i => (string)i!["name"]!));
        Assert.Equal(2, (long)items[2]!["big"]!);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task EmptyStream_IsAnEmptyArray()
    {
        await using var rest = await RestTestServer.StartAsync();
        var items = await (await rest.GetAsync("/v1/watch/w?count=0")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("[]", items.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ErrorBeforeTheFirstMessage_IsAnOrdinaryErrorResponse()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.GetAsync("/v1/watch/w?count=0&fail_code=5")).JsonAsync(HttpStatusCode.NotFound);
        Assert.Equal("watch failed", (string?)error["message"]);
        Assert.Equal("not_found", error.Reason());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ErrorAfterTheFirstMessage_CutsTheResponseShort()
    {
        await using var rest = await RestTestServer.StartAsync();
        // The 200 has gone out with the first element, so the failure can only show as a broken
        // response: the connection is reset and the body never becomes a complete JSON array.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => rest.Http.GetStringAsync("/v1/watch/w?count=2&fail_code=10").DefaultTimeout());
        Assert.Contains(rest.Server.Logs.Records, r => r.EventId.Id == 104 && r.Message.Contains("Aborted", StringComparison.Ordinal));
        rest.Server.AssertNoUnexpectedErrors();
    }
}
