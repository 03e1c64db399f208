using System.Globalization;
using System.Text;

namespace ControlPlane.Metrics.Internal;

/// <summary>Renders a tag list as the label part of a sample line, once per series.</summary>
internal static class LabelRenderer
{
    /// <summary>
    /// <c>name="value",...</c> sorted by label name, so the same tags in any order give the same
    /// series. Keys that sanitise to one label name are merged, their values joined with ';' in
    /// key order (a label may appear only once per sample).
    /// </summary>
    public static string Render(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }
        var labels = new (string Name, string Key, string Value)[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            labels[i] = (PrometheusNaming.LabelName(tags[i].Key), tags[i].Key, ValueText(tags[i].Value));
        }
        Array.Sort(labels, static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Key, b.Key);
        });

        var sb = new StringBuilder();
        for (var i = 0; i < labels.Length; i++)
        {
            if (i > 0 && labels[i].Name == labels[i - 1].Name)
            {
                sb.Length--; // reopen the previous value's closing quote
                sb.Append(';');
            }
            else
            {
                if (i > 0)
                {
                    sb.Append(',');
                }
                sb.Append(labels[i].Name).Append("=\"");
            }
            EscapeLabelValue(sb, labels[i].Value);
            sb.Append('"');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Exposition format: a label value may hold any UTF-8, but backslash, double quote and line
    /// feed are written <c>\\</c>, <c>\"</c> and <c>\n</c>.
    /// </summary>
    public static void EscapeLabelValue(StringBuilder sb, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    sb.Append(@"\\");
                    break;
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\n':
                    sb.Append(@"\n");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
    }

    private static string ValueText(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
