using System.Collections.Frozen;
using System.Text.Json;

namespace ControlPlane.Mcp;

/// <summary>
/// Which tools each agent may see and call: agent name to tool-name patterns, where <c>*</c> matches
/// any run of characters and <c>?</c> one (<c>lb-stats.*</c>). An agent without an entry may call
/// nothing: the list grants, it never denies.
/// </summary>
public sealed class McpAllowList
{
    private readonly FrozenDictionary<string, string[]> _patterns;

    /// <summary>An allow-list from agent names to tool-name patterns.</summary>
    /// <exception cref="ArgumentException">An agent name or a pattern is empty.</exception>
    public McpAllowList(IReadOnlyDictionary<string, IReadOnlyList<string>> patternsByAgent)
    {
        ArgumentNullException.ThrowIfNull(patternsByAgent);
        foreach (var (agent, patterns) in patternsByAgent)
        {
            if (string.IsNullOrWhiteSpace(agent))
            {
                throw new ArgumentException("An allow-list agent name is empty.", nameof(patternsByAgent));
            }
            ArgumentNullException.ThrowIfNull(patterns);
            if (patterns.Any(string.IsNullOrWhiteSpace))
            {
                throw new ArgumentException($"The allow-list of agent '{agent}' has an empty pattern.", nameof(patternsByAgent));
            }
        }
        _patterns = patternsByAgent.ToFrozenDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>An allow-list that grants nothing.</summary>
    public static McpAllowList Empty { get; } = new(new Dictionary<string, IReadOnlyList<string>>());

    /// <summary>The agents with an entry.</summary>
    public IEnumerable<string> Agents => _patterns.Keys;

    /// <summary>Reads <c>{"agent": ["tool", "prefix.*"], ...}</c>.</summary>
    /// <exception cref="FormatException">The JSON is not an object of string arrays.</exception>
    public static McpAllowList Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            throw new FormatException("The allow-list is not valid JSON: " + ex.Message, ex);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("The allow-list must be a JSON object: {\"agent\": [\"tool pattern\", ...]}.");
            }
            var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var agent in document.RootElement.EnumerateObject())
            {
                if (agent.Value.ValueKind != JsonValueKind.Array || agent.Value.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.String))
                {
                    throw new FormatException($"The allow-list entry of agent '{agent.Name}' must be an array of strings.");
                }
                result[agent.Name] = [.. agent.Value.EnumerateArray().Select(p => p.GetString()!)];
            }
            try
            {
                return new McpAllowList(result);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException(ex.Message, ex);
            }
        }
    }

    /// <summary>The patterns granted to <paramref name="agent"/> (none when it has no entry).</summary>
    public IReadOnlyList<string> PatternsFor(string agent) =>
        _patterns.TryGetValue(agent, out var patterns) ? patterns : [];

    /// <summary>Whether <paramref name="agent"/> may see and call <paramref name="tool"/>.</summary>
    public bool IsAllowed(string agent, string tool)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(tool);
        return _patterns.TryGetValue(agent, out var patterns) && patterns.Any(p => GlobMatches(p, tool));
    }

    /// <summary>
    /// <c>*</c> and <c>?</c> wildcards, matched without regular expressions: the classic two-pointer
    /// walk that backtracks only to the last <c>*</c>, linear in practice and never exponential.
    /// </summary>
    internal static bool GlobMatches(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
