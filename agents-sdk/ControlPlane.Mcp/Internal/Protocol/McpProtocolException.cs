using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Protocol;

/// <summary>A request answered with a JSON-RPC error object instead of a result.</summary>
internal sealed class McpProtocolException(int code, string message, Action<Utf8JsonWriter>? data = null) : Exception(message)
{
    public int Code { get; } = code;

    /// <summary>Writes the error's <c>data</c> value, when it has one.</summary>
    public Action<Utf8JsonWriter>? ErrorData { get; } = data;

    public static McpProtocolException InvalidParams(string message, Action<Utf8JsonWriter>? data = null) =>
        new(JsonRpcErrorCodes.InvalidParams, message, data);
}
