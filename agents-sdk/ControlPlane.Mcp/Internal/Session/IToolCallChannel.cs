namespace ControlPlane.Mcp.Internal.Session;

/// <summary>What a running tool call may send back besides its result: progress and log notifications.</summary>
internal interface IToolCallChannel
{
    string ProtocolVersion { get; }

    McpClientInfo Client { get; }

    ValueTask NotifyProgressAsync(string progressTokenRaw, double progress, double? total, string? message, CancellationToken cancellationToken);

    ValueTask LogAsync(McpLogLevel level, string logger, string message, CancellationToken cancellationToken);
}
