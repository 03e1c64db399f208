namespace ControlPlane.Mcp;

/// <summary>
/// Thrown by a tool handler for a failure the model should read (a tool execution error: the result's
/// <c>isError</c> is true and its text is <see cref="Exception.Message"/>). Any other exception is
/// answered with a generic error text and logged, so internal details do not reach the client.
/// </summary>
public sealed class McpToolException : Exception
{
    /// <summary>A tool error with the text the model reads.</summary>
    public McpToolException(string message)
        : base(message)
    {
    }

    /// <summary>A tool error with the text the model reads, and its cause (logged, not sent).</summary>
    public McpToolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
