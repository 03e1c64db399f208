using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Protocol;

internal enum IncomingKind
{
    /// <summary>Has a method and an id: answer it.</summary>
    Request,

    /// <summary>Has a method, no id: never answered (JSON-RPC 2.0 section 4.1), not even with an error.</summary>
    Notification,

    /// <summary>A result or error answering a request the server sent.</summary>
    Response,

    /// <summary>Not a valid JSON-RPC 2.0 message: answered with <see cref="IncomingMessage.ErrorCode"/>.</summary>
    Invalid,
}

/// <summary>One JSON-RPC message read from the client, classified by shape (JSON-RPC 2.0 sections 4 and 5).</summary>
internal readonly struct IncomingMessage
{
    public IncomingKind Kind { get; private init; }

    public string? Method { get; private init; }

    /// <summary>The id, when one could be read (also on an invalid message, so its error can name it).</summary>
    public RequestId? Id { get; private init; }

    /// <summary>The params object, or <see cref="JsonValueKind.Undefined"/> when absent.</summary>
    public JsonElement Params { get; private init; }

    /// <summary>A response's <c>result</c> (Undefined for an error response).</summary>
    public JsonElement Result { get; private init; }

    /// <summary>A response's <c>error</c> (Undefined for a result).</summary>
    public JsonElement Error { get; private init; }

    public int ErrorCode { get; private init; }

    public string? ErrorMessage { get; private init; }

    public static IncomingMessage Classify(JsonElement message)
    {
        RequestId? id = null;
        var hasId = message.TryGetProperty("id", out var idElement);
        if (hasId && RequestId.TryRead(idElement, out var readId))
        {
            id = readId;
        }

        if (!message.TryGetProperty("jsonrpc", out var version) || version.ValueKind != JsonValueKind.String || !version.ValueEquals("2.0"))
        {
            return Invalid(id, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
        }

        if (message.TryGetProperty("method", out var method))
        {
            if (method.ValueKind != JsonValueKind.String)
            {
                return Invalid(id, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: \"method\" must be a string");
            }
            if (hasId && id is null)
            {
                // MCP: "the ID MUST NOT be null"; JSON-RPC: a string or a number.
                return Invalid(null, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: \"id\" must be a string or a number");
            }
            var parameters = default(JsonElement);
            if (message.TryGetProperty("params", out var p))
            {
                switch (p.ValueKind)
                {
                    case JsonValueKind.Object:
                        parameters = p;
                        break;
                    case JsonValueKind.Array:
                        // JSON-RPC allows positional params, but every MCP method takes named ones.
                        return Invalid(id, JsonRpcErrorCodes.InvalidParams, "Invalid params: MCP params are an object, not an array");
                    default:
                        return Invalid(id, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: \"params\" must be an object");
                }
            }
            return new IncomingMessage
            {
                Kind = hasId ? IncomingKind.Request : IncomingKind.Notification,
                Method = method.GetString(),
                Id = id,
                Params = parameters,
            };
        }

        var hasResult = message.TryGetProperty("result", out var result);
        var hasError = message.TryGetProperty("error", out var error);
        if (hasResult != hasError && hasId)
        {
            return new IncomingMessage { Kind = IncomingKind.Response, Id = id, Result = hasResult ? result : default, Error = hasError ? error : default };
        }
        return Invalid(id, JsonRpcErrorCodes.InvalidRequest, "Invalid Request: neither a request, a notification nor a response");
    }

    private static IncomingMessage Invalid(RequestId? id, int code, string message) =>
        new() { Kind = IncomingKind.Invalid, Id = id, ErrorCode = code, ErrorMessage = message };
}
