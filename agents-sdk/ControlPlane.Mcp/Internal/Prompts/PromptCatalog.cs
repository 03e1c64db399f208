using System.Collections.Frozen;
using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Prompts;

/// <summary>The host's prompts, checked once when the server is built.</summary>
internal sealed class PromptCatalog
{
    private readonly FrozenDictionary<string, McpPrompt> _byName;

    public PromptCatalog(IReadOnlyList<McpPrompt> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var byName = new Dictionary<string, McpPrompt>(StringComparer.Ordinal);
        foreach (var prompt in prompts)
        {
            ArgumentNullException.ThrowIfNull(prompt);
            Check(prompt);
            if (!byName.TryAdd(prompt.Name, prompt))
            {
                throw new ArgumentException($"Two prompts are named '{prompt.Name}'.", nameof(prompts));
            }
        }
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
        All = [.. prompts];
    }

    public IReadOnlyList<McpPrompt> All { get; }

    public McpPrompt? Find(string name) => _byName.GetValueOrDefault(name);

    public static void WriteListEntry(Utf8JsonWriter json, McpPrompt prompt, string protocolVersion)
    {
        json.WriteStartObject();
        json.WriteString("name", prompt.Name);
        if (prompt.Title is not null && McpProtocolVersions.AtLeast(protocolVersion, McpProtocolVersions.V2025_06_18))
        {
            json.WriteString("title", prompt.Title);
        }
        if (prompt.Description is not null)
        {
            json.WriteString("description", prompt.Description);
        }
        json.WriteStartArray("arguments");
        foreach (var argument in prompt.Arguments)
        {
            json.WriteStartObject();
            json.WriteString("name", argument.Name);
            if (argument.Description is not null)
            {
                json.WriteString("description", argument.Description);
            }
            json.WriteBoolean("required", argument.Required);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Check(McpPrompt prompt)
    {
        if (string.IsNullOrWhiteSpace(prompt.Name))
        {
            throw new ArgumentException("A prompt has no name.");
        }
        if (prompt.Messages is null || prompt.Messages.Count == 0)
        {
            throw new ArgumentException($"Prompt '{prompt.Name}' has no messages.");
        }
        if (prompt.Messages.Any(m => m is null || m.Text is null || !Enum.IsDefined(m.Role)))
        {
            throw new ArgumentException($"Prompt '{prompt.Name}' has a message without text or with an unknown role.");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var argument in prompt.Arguments ?? throw new ArgumentException($"Prompt '{prompt.Name}' has null arguments."))
        {
            if (argument is null || string.IsNullOrWhiteSpace(argument.Name) || !names.Add(argument.Name))
            {
                throw new ArgumentException($"Prompt '{prompt.Name}' has an unnamed or repeated argument.");
            }
        }
    }
}
