using System.Text;
using System.Text.Json;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>MCP stdio framing: one message per line, whatever the writes' boundaries; a size limit per line.</summary>
public sealed class TransportTests
{
    private const int Limit = 4096;

    [Fact]
    public async Task A_line_over_the_limit_is_refused_skipped_and_the_server_keeps_reading()
    {
        await using var host = McpTestHost.Start(configure: o => o with { MaxMessageBytes = Limit });
        await host.Client.InitializeAsync();

        // 100 KB in 1 KB writes, well past the limit before its newline arrives.
        var huge = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\"" + new string('x', 100_000) + "\"}}\n";
        foreach (var chunk in huge.Chunk(1024))
        {
            await host.Client.SendRawAsync(new string(chunk));
        }
        var refused = await host.Client.NextAsync();

        Assert.Equal(JsonValueKind.Null, refused.GetProperty("id").ValueKind);
        Assert.Equal($"Invalid Request: message longer than {Limit} bytes", refused.Error(-32600).Message());
        await host.Client.ResultAsync("ping");
        Assert.Single(host.LogEvents(11005));
    }

    [Fact]
    public async Task A_line_of_exactly_the_limit_is_read()
    {
        await using var host = McpTestHost.Start(configure: o => o with { MaxMessageBytes = Limit });
        await host.Client.InitializeAsync();
        var head = "{\"jsonrpc\":\"2.0\",\"id\":\"edge\",\"method\":\"ping\",\"params\":{\"pad\":\"";
        var tail = "\"}}";
        var line = head + new string('y', Limit - head.Length - tail.Length) + tail;
        Assert.Equal(Limit, Encoding.UTF8.GetByteCount(line));

        await host.Client.SendRawAsync(line + "\n");

        (await host.Client.ResponseAsync("\"edge\"")).Result();
        await host.Client.SendRawAsync(line.Replace("\"edge\"", "\"edge2\"", StringComparison.Ordinal) + "\n");
        var over = await host.Client.NextAsync();
        Assert.Contains("longer than", over.Error(-32600).Message());
    }

    [Fact]
    public async Task An_oversized_last_line_without_a_newline_is_refused_once()
    {
        await using var host = McpTestHost.Start(configure: o => o with { MaxMessageBytes = Limit });
        await host.Client.InitializeAsync();

        await host.Client.SendRawAsync(new string('z', Limit * 3));
        var rest = await host.Client.CloseAsync();

        Assert.Equal(-32600, Assert.Single(rest).GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task A_message_split_across_writes_is_read_when_its_line_ends()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        foreach (var b in Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":\"split\",\"method\":\"ping\"}"))
        {
            await host.Client.SendBytesAsync([b]);
        }
        await host.Client.SendRawAsync("\n");

        (await host.Client.ResponseAsync("\"split\"")).Result();
    }

    [Fact]
    public async Task Several_messages_in_one_write_CRLF_and_blank_lines_are_each_read()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.SendRawAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}");
        var rest = await host.Client.CloseAsync();

        Assert.Equal(["1", "2", "3"], rest.Select(m => m.GetProperty("id").GetRawText()));
    }
}
