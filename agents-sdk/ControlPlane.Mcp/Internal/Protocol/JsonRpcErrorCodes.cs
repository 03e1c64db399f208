namespace ControlPlane.Mcp.Internal.Protocol;

/// <summary>The JSON-RPC 2.0 error codes (section 5.1), which MCP uses as they are.</summary>
internal static class JsonRpcErrorCodes
{
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int InternalError = -32603;

    /// <summary>In the range JSON-RPC reserves for implementation-defined server errors (-32000 to -32099): too many calls in flight.</summary>
    public const int ServerBusy = -32000;
}
