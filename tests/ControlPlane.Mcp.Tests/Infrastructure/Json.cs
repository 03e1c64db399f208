using System.Text.Json;

namespace ControlPlane.Mcp.Tests.Infrastructure;

internal static class Json
{
    public static JsonElement Result(this JsonElement response)
    {
        Assert.True(response.TryGetProperty("result", out var result), "expected a result, got " + response);
        return result;
    }

    /// <summary>The error object of an error response, checking its code.</summary>
    public static JsonElement Error(this JsonElement response, int code)
    {
        Assert.True(response.TryGetProperty("error", out var error), "expected an error, got " + response);
        Assert.Equal(code, error.GetProperty("code").GetInt32());
        Assert.False(response.TryGetProperty("result", out _));
        return error;
    }

    public static string Message(this JsonElement error) => error.GetProperty("message").GetString()!;

    /// <summary>The text of a tool result's single text content.</summary>
    public static string ToolText(this JsonElement result)
    {
        var content = Assert.Single(result.GetProperty("content").EnumerateArray());
        Assert.Equal("text", content.GetProperty("type").GetString());
        return content.GetProperty("text").GetString()!;
    }

    public static bool IsError(this JsonElement result) => result.GetProperty("isError").GetBoolean();

    public static IReadOnlyList<string> Names(this JsonElement list, string property) =>
        [.. list.GetProperty(property).EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
}
