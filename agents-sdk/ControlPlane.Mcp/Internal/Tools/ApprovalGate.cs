using System.Buffers;
using System.Text;
using System.Text.Json;
using ControlPlane.Mcp.Internal.Protocol;
using ControlPlane.Mcp.Internal.Session;

namespace ControlPlane.Mcp.Internal.Tools;

/// <summary>
/// The server's gate for tools marked destructive: the handler runs only with <c>approve: true</c>,
/// or when the client supports form elicitation (MCP 2025-06-18 and later) and its user accepts the
/// question the server asks (<c>elicitation/create</c>). Every refusal is logged with its reason.
/// </summary>
internal sealed class ApprovalGate(ServerDefinition server, OutgoingRequests outgoing)
{
    private const int MaxSummaryChars = 1000;

    /// <summary>Argument names that say they hold a credential.</summary>
    private static readonly string[] SecretMarkers = ["token", "secret", "password", "passwd", "authorization", "apikey", "api_key", "credential"];

    public async Task<ApprovalDecision> CheckAsync(RegisteredTool tool, JsonElement arguments, bool clientElicitsForms, string protocolVersion, CancellationToken cancellationToken)
    {
        if (arguments.TryGetProperty(ToolCatalog.ApproveArgument, out var approve) && approve.ValueKind == JsonValueKind.True)
        {
            return ApprovalDecision.Approved(McpApproval.Argument);
        }
        if (!server.Options.ElicitApproval || !clientElicitsForms)
        {
            return Refuse(tool, "approval_required", $"Tool '{tool.Name}' is destructive: call again with approve=true after a human approved it.");
        }

        McpLog.ApprovalRequested(server.Logger, server.Agent, tool.Name);
        try
        {
            var answer = await outgoing.SendAsync("elicitation/create", json => WriteQuestion(json, tool, arguments, protocolVersion), server.Options.ApprovalTimeout, cancellationToken).ConfigureAwait(false);
            if (IsAccepted(answer))
            {
                return ApprovalDecision.Approved(McpApproval.Elicitation);
            }
            return Refuse(tool, "approval_declined", $"Tool '{tool.Name}' was not run: the user did not approve it.");
        }
        catch (TimeoutException)
        {
            return Refuse(tool, "approval_timeout", $"Tool '{tool.Name}' was not run: nobody approved it within {server.Options.ApprovalTimeout}.");
        }
        catch (ClientRequestFailedException ex)
        {
            return Refuse(tool, "approval_unavailable", $"Tool '{tool.Name}' is destructive and asking for approval failed ({ex.Message}): call again with approve=true after a human approved it.");
        }
    }

    private ApprovalDecision Refuse(RegisteredTool tool, string reason, string message)
    {
        McpLog.ToolDenied(server.Logger, server.Agent, tool.Name, reason);
        return ApprovalDecision.Refused(message);
    }

    /// <summary>Accepted means <c>action: "accept"</c> with <c>approve: true</c> in the form's content.</summary>
    private static bool IsAccepted(JsonElement answer) =>
        answer.ValueKind == JsonValueKind.Object
        && answer.TryGetProperty("action", out var action) && action.ValueKind == JsonValueKind.String && action.ValueEquals("accept")
        && answer.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
        && content.TryGetProperty(ToolCatalog.ApproveArgument, out var approve) && approve.ValueKind == JsonValueKind.True;

    private void WriteQuestion(Utf8JsonWriter json, RegisteredTool tool, JsonElement arguments, string protocolVersion)
    {
        if (McpProtocolVersions.AtLeast(protocolVersion, McpProtocolVersions.V2025_11_25))
        {
            json.WriteString("mode", "form");
        }
        var name = tool.Tool.Title ?? tool.Name;
        json.WriteString("message", $"Agent '{server.Agent}' asks to run the destructive tool '{name}' with arguments {Summary(arguments)}. Approve this call?");
        json.WriteStartObject("requestedSchema");
        json.WriteString("type", "object");
        json.WriteStartObject("properties");
        json.WriteStartObject(ToolCatalog.ApproveArgument);
        json.WriteString("type", "boolean");
        json.WriteString("title", "Approve");
        json.WriteString("description", $"Run '{name}' now.");
        json.WriteBoolean("default", false);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartArray("required");
        json.WriteStringValue(ToolCatalog.ApproveArgument);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>An argument whose name says it holds a credential is shown redacted, even to the user.</summary>
    private static bool LooksSecret(string name) =>
        SecretMarkers.Any(marker => name.Contains(marker, StringComparison.OrdinalIgnoreCase));

    /// <summary>The arguments the user approves (without <c>approve</c>), compact and cut short.</summary>
    private static string Summary(JsonElement arguments)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, JsonRpcFrames.WriterOptions))
        {
            json.WriteStartObject();
            foreach (var argument in arguments.EnumerateObject())
            {
                if (argument.Name == ToolCatalog.ApproveArgument)
                {
                    continue;
                }
                if (LooksSecret(argument.Name))
                {
                    json.WriteString(argument.Name, "***");
                }
                else
                {
                    argument.WriteTo(json);
                }
            }
            json.WriteEndObject();
        }
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        return text.Length <= MaxSummaryChars ? text : text[..MaxSummaryChars] + "...";
    }
}

internal readonly record struct ApprovalDecision(bool IsApproved, McpApproval How, string? Refusal)
{
    public static ApprovalDecision Approved(McpApproval how) => new(true, how, null);

    public static ApprovalDecision Refused(string message) => new(false, McpApproval.None, message);
}
