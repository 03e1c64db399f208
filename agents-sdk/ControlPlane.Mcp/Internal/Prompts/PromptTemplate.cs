using System.Text;

namespace ControlPlane.Mcp.Internal.Prompts;

/// <summary>
/// Fills <c>{{name}}</c> placeholders in one pass: a value is inserted as it is and never scanned
/// again, so an argument cannot smuggle in another placeholder. A placeholder that names no declared
/// argument stays as written.
/// </summary>
internal static class PromptTemplate
{
    public static string Render(string template, IReadOnlySet<string> declared, IReadOnlyDictionary<string, string> values)
    {
        var output = new StringBuilder(template.Length);
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0)
            {
                break;
            }
            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                break;
            }
            var name = template[(open + 2)..close].Trim();
            output.Append(template, at, open - at);
            if (declared.Contains(name))
            {
                output.Append(values.GetValueOrDefault(name, ""));
            }
            else
            {
                output.Append(template, open, close + 2 - open);
            }
            at = close + 2;
        }
        output.Append(template, at, template.Length - at);
        return output.ToString();
    }
}
