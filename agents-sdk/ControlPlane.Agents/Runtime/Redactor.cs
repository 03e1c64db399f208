using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// Removes the secrets the agents know of (the platform token) from anything they write: envelopes,
/// logs, dry-run prints, channel messages. The agents never put a token into text on purpose; this is
/// the second line, so a server message or an exception that echoes one still prints it redacted.
/// The user-info of URLs (<c>http://user:password@host</c>) is masked too.
/// </summary>
internal sealed partial class Redactor
{
    public const string Mask = "[REDACTED]";

    private readonly string[] _secrets;

    public Redactor(IEnumerable<string> secrets)
    {
        // Longest first, so a secret containing another is replaced whole. Very short values would
        // mask ordinary words, and no real token is that short.
        _secrets = [.. secrets.Where(s => s.Length >= 4).Distinct(StringComparer.Ordinal).OrderByDescending(s => s.Length)];
    }

    public bool HasSecrets => _secrets.Length > 0;

    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains("://", StringComparison.Ordinal) && text.Contains('@', StringComparison.Ordinal))
        {
            text = UserInfo().Replace(text, Mask + "@");
        }
        foreach (var secret in _secrets)
        {
            if (text.Contains(secret, StringComparison.Ordinal))
            {
                text = text.Replace(secret, Mask, StringComparison.Ordinal);
            }
        }
        return text;
    }

    /// <summary>A copy of <paramref name="node"/> with every string value and member name redacted.</summary>
    public JsonNode? Redact(JsonNode? node)
    {
        if (node is null)
        {
            return node;
        }
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    copy[Redact(key)] = Redact(value);
                }
                return copy;
            case JsonArray array:
                return new JsonArray([.. array.Select(Redact)]);
            default:
                var clone = node.DeepClone();
                return clone.GetValueKind() == System.Text.Json.JsonValueKind.String ? JsonValue.Create(Redact(clone.GetValue<string>())) : clone;
        }
    }

    /// <summary>The user-info part of a URL: after "scheme://", up to the '@' before the host.</summary>
    [GeneratedRegex(@"(?<=\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]+@")]
    private static partial Regex UserInfo();
}
