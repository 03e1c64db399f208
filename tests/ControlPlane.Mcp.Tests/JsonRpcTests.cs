using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>JSON-RPC 2.0 as the server speaks it: error objects and codes, ids, notifications, batches, hostile input.</summary>
public sealed class JsonRpcTests
{
    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"")]
    [InlineData("not json at all")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"method\":\"tools/list\"}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}}")]
    [InlineData("   ")]
    public async Task Malformed_JSON_is_a_parse_error_with_a_null_id_and_the_server_keeps_serving(string line)
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.SendRawAsync(line + "\n");
        var response = await host.Client.NextAsync();

        Assert.Equal(JsonValueKind.Null, response.GetProperty("id").ValueKind);
        Assert.Equal("Parse error: the message is not valid JSON", response.Error(-32700).Message());
        await host.Client.ResultAsync("ping");
    }

    [Fact]
    public async Task Invalid_UTF8_and_deep_nesting_are_parse_errors()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.SendBytesAsync([.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p"u8, 0xFF, 0xFE, .. "\"}\n"u8]);
        (await host.Client.NextAsync()).Error(-32700);
        await host.Client.SendRawAsync("{\"jsonrpc\":\"2.0\",\"id\":\"\\uD800\",\"method\":\"ping\"}\n");
        (await host.Client.NextAsync()).Error(-32700);
        await host.Client.SendRawAsync("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"lb-stats.top\",\"arguments\":{\"image\":\"a\",\"\\uDC00\":1}}}\n");
        (await host.Client.NextAsync()).Error(-32700);
        await host.Client.SendRawAsync("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":{\"a\":" + new string('[', 5000) + new string(']', 5000) + "}}\n");
        (await host.Client.NextAsync()).Error(-32700);

        await host.Client.ResultAsync("ping");
    }

    [Theory]
    [InlineData("42", "null")]
    [InlineData("\"ping\"", "null")]
    [InlineData("true", "null")]
    [InlineData("null", "null")]
    [InlineData("""{"id":1,"method":"ping"}""", "1")]
    [InlineData("""{"jsonrpc":"1.0","id":"a","method":"ping"}""", "\"a\"")]
    [InlineData("""{"jsonrpc":2.0,"id":3,"method":"ping"}""", "3")]
    [InlineData("""{"jsonrpc":"2.0","id":4,"method":7}""", "4")]
    [InlineData("""{"jsonrpc":"2.0","id":null,"method":"ping"}""", "null")]
    [InlineData("""{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}""", "null")]
    [InlineData("""{"jsonrpc":"2.0","id":[1],"method":"ping"}""", "null")]
    [InlineData("""{"jsonrpc":"2.0","id":true,"method":"ping"}""", "null")]
    [InlineData("""{"jsonrpc":"2.0","id":5,"method":"ping","params":"x"}""", "5")]
    [InlineData("""{"jsonrpc":"2.0","id":6}""", "6")]
    [InlineData("""{"jsonrpc":"2.0"}""", "null")]
    [InlineData("""{"foo":"bar"}""", "null")]
    public async Task A_message_that_is_not_a_JSON_RPC_request_is_an_invalid_request(string line, string expectedId)
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.SendRawAsync(line + "\n");
        var response = await host.Client.NextAsync();

        response.Error(-32600);
        Assert.Equal(expectedId, response.GetProperty("id").GetRawText());
        await host.Client.ResultAsync("ping");
    }

    [Fact]
    public async Task Positional_params_are_invalid_params()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.SendRawAsync("""{"jsonrpc":"2.0","id":9,"method":"tools/list","params":[1,2]}""" + "\n");

        Assert.Contains("object", (await host.Client.ResponseAsync("9")).Error(-32602).Message());
    }

    [Theory]
    [InlineData("\"abc\"")]
    [InlineData("\"\"")]
    [InlineData("\"caf\\u00e9 \\\"quoted\\\"\"")]
    [InlineData("0")]
    [InlineData("-7")]
    [InlineData("1.50")]
    [InlineData("1e3")]
    [InlineData("123456789012345678901234567890")]
    public async Task Ids_are_echoed_exactly_as_sent(string id)
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.SendRawAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"ping\"}\n");

        var response = await host.Client.ResponseAsync(id);
        Assert.Empty(response.Result().EnumerateObject());
        Assert.Contains("\"id\":" + id + ",", host.Client.Lines[^1]);
    }

    [Fact]
    public async Task An_unknown_method_is_method_not_found()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var error = (await host.Client.RequestAsync("resources/list")).Error(-32601);

        Assert.Equal("Method not found: resources/list", error.Message());
    }

    [Fact]
    public async Task Notifications_are_never_answered_even_unknown_or_malformed_ones()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.NotifyAsync("notifications/initialized");
        await host.Client.NotifyAsync("notifications/unknown", new JsonObject { ["x"] = 1 });
        await host.Client.NotifyAsync("tools/list");
        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = "never-sent" });
        await host.Client.NotifyAsync("notifications/cancelled");
        await host.Client.NotifyAsync("notifications/progress", new JsonObject { ["progressToken"] = 1, ["progress"] = 2 });
        // Messages other than tool calls are answered in order: had any notification been
        // answered, that answer would come before the ping's.
        await host.Client.SendRequestAsync("after", "ping");

        var next = await host.Client.NextAsync();
        Assert.Equal("\"after\"", next.GetProperty("id").GetRawText());
        Assert.Empty(await host.Client.CloseAsync());
    }

    [Fact]
    public async Task A_response_nobody_waits_for_is_ignored()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.SendRawAsync("""{"jsonrpc":"2.0","id":"mcp-server-99","result":{}}""" + "\n");
        await host.Client.SendRawAsync("""{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}""" + "\n");
        await host.Client.SendRequestAsync("after", "ping");

        Assert.Equal("\"after\"", (await host.Client.NextAsync()).GetProperty("id").GetRawText());
    }

    [Fact]
    public async Task In_2025_03_26_a_batch_is_answered_with_one_array_without_the_notifications()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-03-26");

        await host.Client.SendRawAsync("""
            [{"jsonrpc":"2.0","id":"a","method":"ping"},
             {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}},
             {"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"lb-stats.top","arguments":{"image":"img.a"}}},
             {"jsonrpc":"2.0","id":"c","method":"no/such"},
             5]
            """.ReplaceLineEndings("") + "\n");

        var batch = await host.Client.NextAsync();
        Assert.Equal(JsonValueKind.Array, batch.ValueKind);
        var responses = batch.EnumerateArray().ToList();
        Assert.Equal(4, responses.Count);
        Assert.Empty(responses[0].Result().EnumerateObject());
        Assert.Equal("top of img.a", responses[1].Result().ToolText());
        responses[2].Error(-32601);
        responses[3].Error(-32600);
        Assert.Equal(["\"a\"", "\"b\"", "\"c\"", "null"], responses.Select(r => r.GetProperty("id").GetRawText()));
    }

    [Fact]
    public async Task A_batch_of_notifications_gets_no_answer_and_an_empty_batch_is_invalid()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-03-26");

        await host.Client.SendRawAsync("""[{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","method":"notifications/y"}]""" + "\n");
        await host.Client.SendRawAsync("[]\n");

        var empty = await host.Client.NextAsync();
        Assert.Equal("Invalid Request: an empty batch", empty.Error(-32600).Message());
        Assert.Empty(await host.Client.CloseAsync());
    }

    [Fact]
    public async Task Initialize_in_a_batch_is_refused()
    {
        await using var host = McpTestHost.Start();

        await host.Client.SendRawAsync("""[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}]""" + "\n");

        var response = await host.Client.NextAsync();
        Assert.Equal(JsonValueKind.Object, response.ValueKind);
        Assert.Contains("'initialize' must not be batched", response.Error(-32600).Message());
        (await host.Client.RequestAsync("tools/list")).Error(-32600);
    }

    [Theory]
    [InlineData("2024-11-05")]
    [InlineData("2025-06-18")]
    [InlineData("2025-11-25")]
    public async Task Other_versions_refuse_batches_with_a_clear_error(string version)
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: version);

        await host.Client.SendRawAsync("""[{"jsonrpc":"2.0","id":1,"method":"ping"}]""" + "\n");

        var response = await host.Client.NextAsync();
        Assert.Equal(JsonValueKind.Null, response.GetProperty("id").ValueKind);
        Assert.Equal($"Invalid Request: JSON-RPC batches are not supported in protocol version {version} (only in 2025-03-26)", response.Error(-32600).Message());
    }

    [Fact]
    public async Task Every_output_line_is_one_compact_message_even_with_newlines_in_the_data()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.ResultAsync("prompts/get", new JsonObject { ["name"] = "sd-agent", ["arguments"] = new JsonObject { ["task"] = "line one\nline two\r\n\u2028end" } });
        await host.Client.ResultAsync("tools/list");
        var rest = await host.Client.CloseAsync();

        Assert.Empty(rest);
        Assert.All(host.Client.Lines, line =>
        {
            Assert.DoesNotContain('\n', line);
            Assert.DoesNotContain('\r', line);
            Assert.Equal(JsonValueKind.Object, JsonElement.Parse(line).ValueKind);
        });
        Assert.Contains("line one\\nline two", string.Join("", host.Client.Lines));
    }

    [Fact]
    public async Task Garbage_of_every_kind_never_stops_the_server()
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        var random = new Random(7);
        var fragments = new[] { "{", "}", "[", "]", "\"", ":", ",", "jsonrpc", "2.0", "id", "method", "params", "tools/call", "null", "1e999", "-0", "\\u0000", "\\", "true" };

        for (var i = 0; i < 200; i++)
        {
            var line = new StringBuilder();
            for (var j = random.Next(1, 30); j > 0; j--)
            {
                line.Append(fragments[random.Next(fragments.Length)]);
            }
            await host.Client.SendRawAsync(line.Replace("\n", "").Append('\n').ToString());
        }
        await host.Client.SendRequestAsync("after", "ping");

        await host.Client.ResponseAsync("\"after\"");
        Assert.False(host.Client.ServerTask.IsCompleted);
    }
}
