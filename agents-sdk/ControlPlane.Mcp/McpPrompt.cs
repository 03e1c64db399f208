namespace ControlPlane.Mcp;

/// <summary>
/// A prompt the server offers (<c>prompts/list</c>, <c>prompts/get</c>). Its messages are templates:
/// <c>{{name}}</c> is replaced by the argument <c>name</c> (an absent optional argument by nothing),
/// and a message left empty by that is omitted.
/// </summary>
/// <remarks>
/// MCP prompt messages have only the <c>user</c> and <c>assistant</c> roles. A system prompt is
/// offered as one <see cref="McpRole.User"/> message, the description saying it is meant as the
/// system prompt (<see cref="SystemPrompt"/>).
/// </remarks>
public sealed class McpPrompt
{
    /// <summary>Unique name, e.g. <c>sd-agent</c>.</summary>
    public required string Name { get; init; }

    /// <summary>A human-readable name (listed to MCP 2025-06-18 and later clients).</summary>
    public string? Title { get; init; }

    /// <summary>What the prompt is for.</summary>
    public string? Description { get; init; }

    /// <summary>The arguments the templates use.</summary>
    public IReadOnlyList<McpPromptArgument> Arguments { get; init; } = [];

    /// <summary>The messages, in order; at least one.</summary>
    public required IReadOnlyList<McpPromptMessage> Messages { get; init; }

    /// <summary>
    /// A system prompt as an MCP prompt: the text as the first message, then the concrete task as a
    /// second user message when the optional <c>task</c> argument is given (the reference's rule: the
    /// system prompt, then the task as the user message).
    /// </summary>
    public static McpPrompt SystemPrompt(string name, string text, string? description = null) => new()
    {
        Name = name,
        Description = description ?? $"System prompt of {name}: use it as the system message, then give the concrete task as the user message.",
        Arguments = [new McpPromptArgument("task", "The concrete task, sent as the user message after the system prompt.")],
        Messages = [new McpPromptMessage(McpRole.User, text), new McpPromptMessage(McpRole.User, "{{task}}")],
    };
}

/// <summary>An argument of a prompt; values are strings.</summary>
public sealed record McpPromptArgument(string Name, string? Description = null, bool Required = false);

/// <summary>One message of a prompt: <see cref="Text"/> is a template (see <see cref="McpPrompt"/>).</summary>
public sealed record McpPromptMessage(McpRole Role, string Text);

/// <summary>The role of a prompt message.</summary>
public enum McpRole
{
    /// <summary><c>user</c>.</summary>
    User,

    /// <summary><c>assistant</c>.</summary>
    Assistant,
}
